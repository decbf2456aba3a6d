// One prompt call, from options to Response: resolve the key, check the options, call the plugin
// through a sink that collects its output, and turn its status into a Response or an Error.
#ifndef LLMRT_DISPATCH_HPP
#define LLMRT_DISPATCH_HPP

#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <atomic>
#include <string_view>

#include "credential.hpp"
#include "model_instance.hpp"

namespace llmrt {

// Runs one prompt on the calling thread. `cancel_requested` (may be null) is polled by the sink:
// once true, the plugin is asked to stop. `options.key` is moved out and wiped when the call ends.
// Throws llmrt::Error; never lets a key into a message.
Response dispatch(const ModelInstance& instance, std::string_view text, PromptOptions& options,
                  const std::atomic<bool>* cancel_requested);

// Throws Error(key_invalid) if `credential` has expired at `now`: an expired credential is never
// sent; the call fails before the plugin runs. The message shows the time and a fingerprint.
void refuse_if_expired(const Credential& credential, KeySource source,
                       Credential::Clock::time_point now);

}  // namespace llmrt

#endif  // LLMRT_DISPATCH_HPP
