// Calling a model the way the llmrt host does: through the host's own ModelBinding (which picks
// execute or execute_with_key, adapts v1 models and serializes non-reentrant ones), with a sink
// that records everything the plugin does with it, and a judge that compares what happened with
// the contract of <llmrt/plugin.h>.
#ifndef LLMRT_CONFORMANCE_HOST_CALL_HPP
#define LLMRT_CONFORMANCE_HOST_CALL_HPP

#include <llmrt/plugin.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model_binding.hpp"

namespace llmrt::conformance {

// One model of the plugin, as loaded by the host's loader.
struct Target {
  std::shared_ptr<const ModelBinding> binding;

  const ModelInfo& info() const { return binding->info(); }
  std::string name() const { return "model '" + info().id + "'"; }
  bool v1() const { return LLMRT_ABI_MAJOR(info().abi_version) == 1; }
};

struct CallRequest {
  std::string_view text;
  std::string_view options = "{}";
  bool stream = false;
  const llmrt_credential* key = nullptr;  // given: the keyed entry point is used
  // ABI 2.2: sent only to a model that reads conversations (as the host does), else left out.
  std::string_view system = {};
  const std::vector<llmrt_message>* history = nullptr;
  // 0: never ask to stop. n: write returns non-zero from the n-th write on, and should_stop
  // returns non-zero from then on.
  std::size_t stop_at_write = 0;
  // Called (on the calling thread, inside write) when the host first asks the call to stop.
  std::function<void()> on_stop_requested = {};
};

struct CallResult {
  llmrt_status status = LLMRT_OK;
  std::string output;            // what was written (capped at kMaxKeptOutput)
  std::size_t output_bytes = 0;  // all bytes written, capped or not
  std::size_t writes = 0;
  std::size_t writes_after_stop = 0;  // write calls after the host had asked to stop
  std::string error;                  // the error messages, concatenated
  std::size_t error_calls = 0;
  bool stop_requested = false;
  std::chrono::steady_clock::time_point stop_time{};  // when the host first asked to stop
  bool sink_used_from_other_thread = false;
  bool null_data_written = false;                // write(NULL, n > 0)
  std::size_t usage_calls = 0;                   // ABI 2.2 usage reports
  std::size_t writes_after_usage = 0;            // write calls after the first usage report
  std::optional<std::string> escaped_exception;  // a C++ exception came out of the plugin
  std::chrono::steady_clock::duration elapsed{};
  std::chrono::steady_clock::time_point end_time{};
};

inline constexpr std::size_t kMaxKeptOutput = 16u << 20;

// "calling model 'echo' through execute (a prompt of 5 bytes)".
std::string describe_call(const Target& target, const CallRequest& request);

// Makes one call. Never throws for what the plugin does.
CallResult call_model(const Target& target, const CallRequest& request);

// What in `result` breaks the contract, or nothing. Checks: a known status (v1 models: 0-3), an
// error message with every status but OK and CANCELLED, CANCELLED only when asked to stop, the sink
// used only from the calling thread, no exception out of the plugin, usage reported at most once
// and after the last write.
std::optional<std::string> contract_breach(const Target& target, const CallRequest& request,
                                           const CallResult& result);

// The credential the tool uses where a key is needed but which one does not matter.
const llmrt_credential& dummy_credential();
inline constexpr std::string_view kDummyKey = "llmrt-conformance-dummy-key";

// For a model that requires a key, the dummy credential; otherwise NULL (a keyless call).
const llmrt_credential* key_for_plain_use(const Target& target);

// "LLMRT_FAILED: the message" for messages in reports.
std::string describe_answer(const CallResult& result);

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_HOST_CALL_HPP
