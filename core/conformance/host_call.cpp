#include "host_call.hpp"

#include <algorithm>
#include <atomic>
#include <boost/core/demangle.hpp>
#include <exception>
#include <thread>
#include <typeinfo>

#include "isolation.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

constexpr std::size_t kMaxKeptError = 64 * 1024;

// The host side of llmrt_sink for one call. Lives on the caller's stack for the call's duration.
struct SinkState {
  const CallRequest& request;
  CallResult& result;
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> stopping{false};

  void note_thread() {
    if (std::this_thread::get_id() != caller) result.sink_used_from_other_thread = true;
  }

  static int write(void* host_data, const char* data, std::size_t size) noexcept {
    auto& self = *static_cast<SinkState*>(host_data);
    self.note_thread();
    CallResult& result = self.result;
    if (self.stopping.load()) ++result.writes_after_stop;
    if (result.usage_calls > 0) ++result.writes_after_usage;
    ++result.writes;
    if (size > 0 && data == nullptr) {
      result.null_data_written = true;
      return 1;
    }
    result.output_bytes += size;
    if (result.output.size() < kMaxKeptOutput) {
      try {
        result.output.append(data, std::min(size, kMaxKeptOutput - result.output.size()));
      } catch (...) {
      }
    }
    if (self.request.stop_at_write != 0 && result.writes >= self.request.stop_at_write &&
        !self.stopping.load()) {
      self.stopping.store(true);
      result.stop_requested = true;
      result.stop_time = std::chrono::steady_clock::now();
      if (self.request.on_stop_requested) {
        try {
          self.request.on_stop_requested();
        } catch (...) {
        }
      }
    }
    return self.stopping.load() ? 1 : 0;
  }

  static void error(void* host_data, const char* message, std::size_t size) noexcept {
    auto& self = *static_cast<SinkState*>(host_data);
    self.note_thread();
    ++self.result.error_calls;
    if (message == nullptr) return;
    try {
      std::string& text = self.result.error;
      if (!text.empty()) text += " | ";
      text.append(message, std::min(size, kMaxKeptError));
    } catch (...) {
    }
  }

  static int should_stop(void* host_data) noexcept {
    auto& self = *static_cast<SinkState*>(host_data);
    self.note_thread();
    return self.stopping.load() ? 1 : 0;
  }

  static void usage(void* host_data, const llmrt_usage*) noexcept {
    auto& self = *static_cast<SinkState*>(host_data);
    self.note_thread();
    ++self.result.usage_calls;
  }
};

bool known_status(const Target& target, llmrt_status status) {
  const llmrt_status newest = target.v1() ? LLMRT_BAD_REQUEST : LLMRT_UNAVAILABLE;
  return status >= LLMRT_OK && status <= newest;
}

}  // namespace

std::string describe_call(const Target& target, const CallRequest& request) {
  std::string text =
      "calling " + target.name() + " through " +
      (request.key != nullptr && target.info().accepts_key ? "execute_with_key" : "execute") +
      " (a prompt of " + std::to_string(request.text.size()) + " bytes";
  if (request.options != "{}") text += ", options " + printable(request.options, 60);
  if (request.stream) text += ", LLMRT_PROMPT_STREAM";
  return text + ")";
}

CallResult call_model(const Target& target, const CallRequest& request) {
  CallResult result;
  SinkState state{request, result};
  llmrt_prompt prompt = {sizeof(llmrt_prompt),
                         request.stream ? LLMRT_PROMPT_STREAM : 0u,
                         {request.text.data(), request.text.size()},
                         {request.options.data(), request.options.size()}};
  if (target.info().conversation) {
    prompt.system = {request.system.data(), request.system.size()};
    if (request.history != nullptr && !request.history->empty()) {
      prompt.history = request.history->data();
      prompt.history_count = request.history->size();
    }
  } else {
    prompt.struct_size = offsetof(llmrt_prompt, system);  // the 2.1 prompt, as the host sends it
  }
  const llmrt_sink sink = {sizeof(llmrt_sink),      &state,
                           &SinkState::write,       &SinkState::error,
                           &SinkState::should_stop, &SinkState::usage};
  note_activity(describe_call(target, request));
  const auto start = std::chrono::steady_clock::now();
  try {
    result.status = target.binding->call_propagating(prompt, request.key, sink);
  } catch (const std::exception& error) {
    result.status = LLMRT_FAILED;
    result.escaped_exception = boost::core::demangle(typeid(error).name()) + ": " + error.what();
  } catch (...) {
    result.status = LLMRT_FAILED;
    result.escaped_exception = "an exception that is not a std::exception";
  }
  result.end_time = std::chrono::steady_clock::now();
  result.elapsed = result.end_time - start;
  note_activity({});
  return result;
}

std::optional<std::string> contract_breach(const Target& target, const CallRequest& request,
                                           const CallResult& result) {
  (void)request;
  if (result.escaped_exception) {
    return "a C++ exception escaped from the plugin's execute (" + *result.escaped_exception +
           "); across the C ABI this terminates the host";
  }
  if (result.sink_used_from_other_thread) {
    return std::string("it used the sink from a thread other than the one running the call");
  }
  if (result.null_data_written) return std::string("it called write with data == NULL, size > 0");
  if (!known_status(target, result.status)) {
    return "it returned " + status_name(result.status) + ", which ABI " +
           (target.v1() ? std::string("1") : std::string("2")) + " does not define";
  }
  if (result.status != LLMRT_OK && result.status != LLMRT_CANCELLED && result.error.empty()) {
    return "it returned " + status_name(result.status) +
           " without an error message (sink->error was not called, or with an empty message)";
  }
  if (result.status == LLMRT_CANCELLED && !result.stop_requested) {
    return std::string("it returned LLMRT_CANCELLED although the host never asked it to stop");
  }
  if (result.usage_calls > 1) {
    return "it reported its usage " + std::to_string(result.usage_calls) +
           " times; sink->usage may be called at most once per call";
  }
  if (result.writes_after_usage > 0) {
    return std::string(
        "it wrote output after reporting its usage; usage comes after the last "
        "write");
  }
  return std::nullopt;
}

const llmrt_credential& dummy_credential() {
  // Writable memory: a plugin that writes to its key breaks keys.keyed_call_works, which lends a
  // read-only key on purpose; elsewhere such a write must not crash an unrelated check.
  static char key[kDummyKey.size() + 1] = {};
  static const llmrt_credential credential = [] {
    kDummyKey.copy(key, kDummyKey.size());
    return llmrt_credential{sizeof(llmrt_credential), {key, kDummyKey.size()}};
  }();
  return credential;
}

const llmrt_credential* key_for_plain_use(const Target& target) {
  return target.info().requires_key ? &dummy_credential() : nullptr;
}

std::string describe_answer(const CallResult& result) {
  std::string text = status_name(result.status);
  if (!result.error.empty()) text += ": " + printable(result.error);
  return text;
}

}  // namespace llmrt::conformance
