// Responses: the result of a prompt, synchronous or asynchronous.
#ifndef LLMRT_RESPONSE_HPP
#define LLMRT_RESPONSE_HPP

#include <llmrt/key.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmrt {

// Token usage of one call as the plugin reported it (ABI 2.2 sink usage), or a sum of several.
struct Usage {
  std::int64_t input_tokens = -1;   // eg: 12; -1 when unknown
  std::int64_t output_tokens = -1;  // eg: 40; -1 when unknown
  std::string details_json;         // the provider's own figures, eg: {"cached_tokens":0}; or ""

  // Adds `other` to this sum: a count stays -1 only while every part's count is unknown.
  Usage& operator+=(const Usage& other) {
    const auto add = [](std::int64_t& sum, std::int64_t part) {
      if (part >= 0) sum = (sum < 0 ? 0 : sum) + part;
    };
    add(input_tokens, other.input_tokens);
    add(output_tokens, other.output_tokens);
    return *this;
  }
};

// What a finished call produced. Holds copies only: nothing in it belongs to the plugin, and no
// key.
struct Response {
  std::string text;                        // all chunks, concatenated
  std::size_t chunk_count = 0;             // how many chunks the plugin wrote
  std::string model_id;                    // eg: "echo"
  KeySource key_source = KeySource::none;  // where the key sent to the plugin came from
  std::string key_fingerprint;             // eg: "sha256:3f2a9c01b7de"; empty when no key was sent
  std::vector<std::string> warnings;       // eg: a key was given to a model that does not take keys
  bool cancelled = false;                  // the call stopped early because the caller asked it to
  std::optional<Usage> usage;              // what the plugin reported; empty when it said nothing
};

struct AsyncState;  // internal

// A prompt running on the runtime's thread pool.
//
// Threading: every member may be called from any thread. Chunks can be consumed either with
// next_chunk() (when PromptOptions::on_chunk was not set) or by the on_chunk callback.
// Destroying an AsyncResponse does not cancel the call; call cancel() for that.
class AsyncResponse {
 public:
  explicit AsyncResponse(std::shared_ptr<AsyncState> state);

  // Blocks until the next chunk arrives and returns it; std::nullopt once the call has ended (then
  // get() tells how). Only when PromptOptions::on_chunk was not set.
  std::optional<std::string> next_chunk();

  // Blocks until the call has ended. Returns the Response or rethrows the call's llmrt::Error.
  Response get();

  void wait() const;
  // True if the call ended within `timeout`.
  bool wait_for(std::chrono::milliseconds timeout) const;
  bool done() const;

  // Asks the call to stop: a queued call never starts, a running one is told through its sink.
  // get() then returns a Response with cancelled == true (or the error, if it failed first).
  void cancel();

 private:
  std::shared_ptr<AsyncState> state_;
};

}  // namespace llmrt

#endif  // LLMRT_RESPONSE_HPP
