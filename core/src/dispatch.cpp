#include "dispatch.hpp"

#include <llmrt/plugin.h>
#include <llmrt/error.hpp>

#include <chrono>
#include <ctime>
#include <exception>
#include <optional>

#include "cleansing_memory.hpp"
#include "conversation_call.hpp"
#include "credential.hpp"
#include "key_resolver.hpp"
#include "key_versions/versioned_entry.hpp"
#include "scrub.hpp"

namespace llmrt {
namespace {

// The most of a plugin's error message shown...
constexpr std::size_t kMaxErrorMessage = 2048;
// ...and the most kept from the plugin before scrubbing: the whole message is scrubbed first, so a
// secret that straddles the cut to kMaxErrorMessage is still found (and a piece of one cut off at
// this bound is still kSecretFragment bytes long or harmlessly short).
constexpr std::size_t kMaxErrorInput = 64 * 1024;

// The host side of llmrt_sink for one call. Lives on the caller's stack for the call's duration.
struct CallSink {
  std::string text;
  std::size_t chunks = 0;
  std::string error;
  const std::function<bool(std::string_view)>* on_chunk = nullptr;
  const std::atomic<bool>* cancel_requested = nullptr;
  bool stop = false;
  std::exception_ptr callback_error;
  UsageReport usage;

  bool stopping() {
    if (!stop && cancel_requested != nullptr && cancel_requested->load(std::memory_order_relaxed)) {
      stop = true;
    }
    return stop;
  }

  // The callbacks below are called by plugin code: nothing may throw through them.
  static int write(void* host_data, const char* data, std::size_t size) noexcept {
    auto& self = *static_cast<CallSink*>(host_data);
    if (self.stopping()) return 1;
    if (size > 0 && data == nullptr) return 1;
    self.usage.saw_write();
    try {
      const std::string_view chunk(data, size);
      self.text.append(chunk);
      ++self.chunks;
      if (self.on_chunk != nullptr && *self.on_chunk && !(*self.on_chunk)(chunk)) self.stop = true;
    } catch (...) {
      self.callback_error = std::current_exception();
      self.stop = true;
    }
    return self.stop ? 1 : 0;
  }

  static void report_error(void* host_data, const char* message, std::size_t size) noexcept {
    auto& self = *static_cast<CallSink*>(host_data);
    if (message == nullptr) return;
    try {
      self.error.assign(message, std::min(size, kMaxErrorInput));
    } catch (...) {
    }
  }

  static int should_stop(void* host_data) noexcept {
    return static_cast<CallSink*>(host_data)->stopping() ? 1 : 0;
  }

  static void report_usage(void* host_data, const llmrt_usage* usage) noexcept {
    static_cast<CallSink*>(host_data)->usage.report(usage);
  }
};

[[noreturn]] void throw_for_status(llmrt_status status, const ModelInfo& model,
                                   const std::string& message, const ResolvedKey& key) {
  const std::string said = message.empty() ? "" : ": " + message;
  switch (status) {
    case LLMRT_BAD_REQUEST:
      throw Error(ErrorCode::bad_request, "model '" + model.id + "' refused the request" + said);
    case LLMRT_KEY_REJECTED:
      throw Error(ErrorCode::key_rejected,
                  "model '" + model.id + "' was refused the key from " +
                      std::string(to_string(key.source())) + " source" +
                      (key.key() ? " (" + key.key()->fingerprint() + ")" : std::string()) +
                      (key.version_label().empty() ? std::string()
                                                   : " (version " + key.version_label() + ")") +
                      said);
    case LLMRT_UNAVAILABLE:
      throw Error(ErrorCode::unavailable, "model '" + model.id + "' is unavailable" + said);
    case LLMRT_FAILED:
      throw Error(ErrorCode::plugin_failed,
                  "model '" + model.id + "' failed" +
                      (said.empty() ? std::string(" without saying why") : said));
    default:
      throw Error(ErrorCode::plugin_failed, "model '" + model.id + "' returned an unknown status " +
                                                std::to_string(status) + said);
  }
}

// The ABI's view of a credential: borrowed pointers into it, valid while it lives.
llmrt_credential to_abi(const Credential& credential) {
  const std::string_view key = credential.key.reveal();
  const std::string_view token = credential.session_token.reveal();
  const std::int64_t expires_at = credential.expires_at
                                      ? std::chrono::duration_cast<std::chrono::seconds>(
                                            credential.expires_at->time_since_epoch())
                                            .count()
                                      : 0;
  return {
      sizeof(llmrt_credential), {key.data(), key.size()}, {token.data(), token.size()}, expires_at};
}

}  // namespace

void refuse_if_expired(const Credential& credential, KeySource source,
                       Credential::Clock::time_point now) {
  if (!credential.expired(now)) return;
  const std::time_t when = Credential::Clock::to_time_t(*credential.expires_at);
  std::tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  throw Error(ErrorCode::key_invalid, "the credential from the " + std::string(to_string(source)) +
                                          " source expired at " + text + " and was not sent (" +
                                          credential.key.fingerprint() + ")");
}

Response dispatch(const ModelInstance& instance, std::string_view text, PromptOptions& options,
                  const std::atomic<bool>* cancel_requested) {
  const ModelInfo& model = instance.info();
  Response response;
  response.model_id = model.id;

  const ResolvedKey resolved = resolve_key(instance, options, response.warnings);
  const std::string options_text = instance.model().schema().build(
      model.id, instance.default_options(), options.options, options.options_json);
  // The plugin's code, loaded now if this is its first call (lazy loading): after the key and the
  // options were checked, so that a call refused for them loads nothing.
  const ModelBinding& binding = instance.binding();

  const ConversationFields conversation(model, options, response.warnings);
  llmrt_prompt prompt = {sizeof(llmrt_prompt),
                         options.stream ? LLMRT_PROMPT_STREAM : 0u,
                         {text.data(), text.size()},
                         {options_text.data(), options_text.size()}};
  conversation.apply(prompt);

  // One call of the plugin with `key`, through a fresh sink.
  const auto call_with = [&](const ResolvedKey& key, CallSink& sink_state) {
    sink_state.on_chunk = &options.on_chunk;
    sink_state.cancel_requested = cancel_requested;
    const llmrt_sink sink = {sizeof(llmrt_sink),     &sink_state,
                             &CallSink::write,       &CallSink::report_error,
                             &CallSink::should_stop, &CallSink::report_usage};
    llmrt_status status = LLMRT_CANCELLED;  // a call cancelled before it starts never runs
    const Credential* credential = key.credential();
    if (credential != nullptr) {
      refuse_if_expired(*credential, key.source(), Credential::Clock::now());
      response.key_source = key.source();
      response.key_fingerprint = key.key()->fingerprint();
      response.key_version = key.version_label();
    }
    if (!sink_state.stopping()) {
      if (credential != nullptr) {
        const llmrt_credential passed = to_abi(*credential);
        status = binding.call(prompt, &passed, sink);
      } else {
        status = binding.call(prompt, nullptr, sink);
      }
    }
    return status;
  };

  ResolvedKey used = resolved;
  std::optional<CallSink> sink_state(std::in_place);
  llmrt_status status = call_with(used, *sink_state);
  // The safety net of key versions: a version other than current that the provider rejects
  // before any output reached the caller is taken out of rotation, and the call is made once more
  // with the current version.
  if (status == LLMRT_KEY_REJECTED && sink_state->chunks == 0 && !sink_state->callback_error &&
      !used.version_label().empty() && used.version_label() != key_versions::kCurrent) {
    const CallContext& context = instance.context();
    if (key_versions::OutOfRotation::process().take_out(context.keys_file.path(),
                                                        used.version_name(), used.version_label(),
                                                        used.key()->fingerprint())) {
      context.error_log("model '" + model.id + "' rejected version '" + used.version_label() +
                        "' of stored key '" + used.version_name() + "' (" +
                        used.key()->fingerprint() +
                        "); it is out of rotation for this process; the call was retried with "
                        "version 'current'");
    }
    ResolvedKey current = resolve_current_version(instance, used.version_name(), used.source());
    if (current.key() != nullptr) {
      cleanse(sink_state->error.data(), sink_state->error.size());
      used = std::move(current);
      sink_state.emplace();
      status = call_with(used, *sink_state);
    }
  }

  const Credential* credential = used.credential();
  const Key* key = used.key();
  CallSink& sink_result = *sink_state;
  if (sink_result.callback_error) std::rethrow_exception(sink_result.callback_error);
  if (status != LLMRT_OK && status != LLMRT_CANCELLED) {
    // The provider refused the key: a cached credential (the command's) must not be used again.
    if (status == LLMRT_KEY_REJECTED) used.key_rejected();
    // Every secret of the call, scrubbed from the whole message before it is cut.
    const std::string_view token =
        credential != nullptr ? credential->session_token.reveal() : std::string_view();
    const std::string message = scrub_secrets(
        sink_result.error, {key ? key->reveal() : std::string_view(), token}, kMaxErrorMessage);
    cleanse(sink_result.error.data(), sink_result.error.size());
    throw_for_status(status, model, message, used);
  }
  response.cancelled = status == LLMRT_CANCELLED || sink_result.stop;
  response.text = std::move(sink_result.text);
  response.chunk_count = sink_result.chunks;
  response.usage = sink_result.usage.usage();
  sink_result.usage.add_warnings(model.id, response.warnings);
  return response;
}

}  // namespace llmrt
