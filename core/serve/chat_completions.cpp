// POST /v1/chat/completions: an OpenAI request in, one llmrt prompt call with the client's key (or,
// for a session key, its tenant's upstream key), an OpenAI response (JSON or SSE) out. The client's
// key lives in this call only. Every request gets an X-Request-Id and, with an audit log, one
// audit line, however it ends (answered, refused, timed out, or the client gone).
//
// The route runs on an I/O thread and never waits there: admission answers at once or queues the
// call (bounded, with a deadline); the model runs on the runtime's pool (prompt_async), and its
// completion callback answers from that worker (no thread waits for it); a stream's chunks go out
// through the connection's bounded
// buffer, so a client that stops reading pauses the model. Whoever answers first (the call's end,
// its deadline, or the client leaving) answers alone and writes the log lines.
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <mutex>
#include <optional>

#include "chat_prompt.hpp"
#include "gateway_context.hpp"
#include "openai_protocol.hpp"
#include "utf8_repair.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

// A request refused before any model call, in OpenAI's error shape.
struct Refusal {
  int status;
  std::string type;
  std::string code;
  std::string message;
  std::string param;
  std::string outcome;           // for the audit log; empty: `code`
  long retry_after_seconds = 1;  // a 503's Retry-After
};

std::string outcome_of(const Refusal& refusal) {
  if (!refusal.outcome.empty()) return refusal.outcome;
  if (!refusal.code.empty()) return refusal.code;
  return "http_" + std::to_string(refusal.status);
}

http::Reply error_reply(const Refusal& refusal, const std::string& request_id) {
  http::Reply reply;
  reply.status = refusal.status;
  reply.headers.emplace_back("X-Request-Id", request_id);
  if (refusal.status == 503) {
    reply.headers.emplace_back("Retry-After",
                               std::to_string(std::max(1L, refusal.retry_after_seconds)));
  }
  reply.body = error_body(valid_utf8(refusal.message), refusal.type, refusal.code, refusal.param);
  return reply;
}

// A failure of the gateway's own configuration (a keys-file path, a credential command's output, a
// plugin that will not load): the details go to the operator's warning log, and the client, who
// may be anyone, gets a generic answer with the request id that finds them there.
Refusal server_side_failure(const GatewayContext& context, const AuditEvent& audit,
                            const std::string& details, std::string_view outcome) {
  context.warn("request " + audit.request_id + " (model '" + audit.model +
               "'): server-side failure: " + details);
  return {500,
          "server_error",
          "internal_error",
          "the gateway could not serve this request because of a problem on its side; its "
          "operator has been told (request " +
              audit.request_id + ")",
          "",
          std::string(outcome)};
}

// How a failed call is answered. A tenant's call runs with the operator's upstream key, which the
// tenant knows nothing of: problems with that key are the operator's (told on the warning log),
// and the tenant gets a message that names neither the key nor where it is stored.
Refusal refusal_for_code(const GatewayContext& context, const Error& error,
                         const AuditEvent& audit) {
  if (audit.tenant) {
    const std::string call = "tenant '" + *audit.tenant + "', model '" + audit.model + "'";
    switch (error.code()) {
      case ErrorCode::usage:
      case ErrorCode::bad_request:
      case ErrorCode::model_not_found:
      case ErrorCode::plugin_load:
      case ErrorCode::plugin_failed:
      case ErrorCode::unavailable:
      case ErrorCode::busy:
      case ErrorCode::plugin_crashed:
      case ErrorCode::plugin_unavailable:
      case ErrorCode::timeout:
      case ErrorCode::output_too_large:
        break;  // about the request or the model: answered as for anyone
      case ErrorCode::key_rejected:
        context.warn("request " + audit.request_id + " (" + call +
                     "): the provider refused the tenant's upstream key: " + error.what());
        return {502,
                "upstream_error",
                "upstream_key_rejected",
                "the model's provider refused the gateway's key for " + call +
                    "; the operator has been told (request " + audit.request_id + ")",
                "",
                "upstream_key_rejected"};
      default:  // key_missing, key_invalid, keys_file, io, a broken credential source, ...
        context.warn("request " + audit.request_id + " (" + call +
                     "): the tenant's upstream key is unusable: " + error.what());
        return {500,
                "server_error",
                "upstream_key_unavailable",
                "the gateway has no usable upstream key for " + call +
                    "; the operator has been told (request " + audit.request_id + ")",
                "",
                "upstream_key_unavailable"};
    }
  }
  // Without a tenant, a key the call did not get from the client is the operator's (environment,
  // keys file, credential source): its problems are the operator's too.
  const bool client_key = audit.key_source == to_string(KeySource::per_call);
  const std::string model = "model '" + audit.model + "'";
  switch (error.code()) {
    case ErrorCode::usage:
    case ErrorCode::bad_request:
    case ErrorCode::model_not_found:
    case ErrorCode::unavailable:
    case ErrorCode::busy:
    case ErrorCode::plugin_failed:
    case ErrorCode::plugin_crashed:  // plugin isolation: 502, 503 + Retry-After, 504, 502
    case ErrorCode::plugin_unavailable:
    case ErrorCode::timeout:
    case ErrorCode::output_too_large:
      break;  // about the request or the model: its own message (any key is scrubbed from it)
    case ErrorCode::key_missing:
      if (client_key) break;
      // The runtime's message says where the operator could store a key: not the client's business.
      return {401,
              "authentication_error",
              "missing_api_key",
              model +
                  " needs a key and the gateway has none for it: send 'Authorization: Bearer "
                  "<key>'",
              "",
              "key_missing"};
    case ErrorCode::key_invalid:
    case ErrorCode::key_rejected:
      if (client_key) break;
      [[fallthrough]];
    default:  // keys_file, credential_source, io, plugin_load, ...: the server's configuration
      return server_side_failure(context, audit, error.what(), to_string(error.code()));
  }
  const HttpError http = http_error_for(error.code());
  return {http.status,
          std::string(http.type),
          std::string(http.code),
          error.what(),
          "",
          std::string(to_string(error.code()))};
}

// How long until the quarantined plugin of `model` is tried again (its health says), at least 1 s.
long quarantine_seconds_left(const GatewayContext& context, const std::string& model) {
  for (const PluginInfo& plugin : context.runtime.plugins()) {
    if (std::find(plugin.model_ids.begin(), plugin.model_ids.end(), model) !=
        plugin.model_ids.end()) {
      return std::max<long>(1, static_cast<long>(plugin.health.retry_after.count()));
    }
  }
  return 1;
}

Refusal refusal_for(const GatewayContext& context, const Error& error, const AuditEvent& audit) {
  Refusal refusal = refusal_for_code(context, error, audit);
  // A quarantined plugin says when it is tried again: clients back off that long, not 1 s.
  if (error.code() == ErrorCode::plugin_unavailable && refusal.status == 503) {
    refusal.retry_after_seconds = quarantine_seconds_left(context, audit.model);
  }
  return refusal;
}

// The client's key from `Authorization: Bearer KEY`, or nullopt without the header. The header's
// bytes in the request are wiped once copied: the key then lives only in the returned Key.
std::optional<Key> take_client_key(http::Request& request) {
  std::string* header = request.header("Authorization");
  if (header == nullptr) return std::nullopt;
  std::string& value = *header;
  constexpr std::string_view kScheme = "bearer ";
  const bool bearer = value.size() > kScheme.size() &&
                      std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                                 [](char a, char b) { return a == std::tolower(b); });
  std::optional<Key> key;
  if (bearer) {
    std::string_view token(value);
    token.remove_prefix(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (!token.empty()) key.emplace(token);
  }
  OPENSSL_cleanse(value.data(), value.size());
  if (!key) {
    throw Refusal{401,
                  "authentication_error",
                  "invalid_api_key",
                  "the Authorization header must be 'Bearer <key>'",
                  "",
                  "malformed_authorization"};
  }
  return key;
}

Refusal unauthorized(std::string message, std::string outcome) {
  return {401, "authentication_error", "invalid_api_key", std::move(message),
          "",  std::move(outcome)};
}

// Who a request is from. Returns the per-call key to use (a raw client key), or nullopt; for a
// session key, the tenant is set in `audit` and the session key itself is dropped (and wiped) here.
std::optional<Key> authenticate(GatewayContext& context, std::optional<Key> bearer,
                                AuditEvent& audit) {
  SessionAuth* sessions = context.sessions.get();
  if (sessions == nullptr) {
    if (!bearer && context.config.require_client_key) {
      throw Refusal{401,
                    "authentication_error",
                    "missing_api_key",
                    "this gateway needs a client key: send 'Authorization: Bearer <key>'",
                    "",
                    "missing_api_key"};
    }
    if (bearer) audit.key_source = std::string(to_string(KeySource::per_call));
    return bearer;
  }
  if (!bearer) {
    throw Refusal{401,
                  "authentication_error",
                  "missing_api_key",
                  "this gateway needs a session key: send 'Authorization: Bearer llmrt-sk1...'",
                  "",
                  "missing_api_key"};
  }
  if (!looks_like_session_key(bearer->reveal())) {
    if (!sessions->allow_raw_client_keys) {
      throw unauthorized(
          "this gateway accepts only llmrt session keys (llmrt-sk1...); ask its operator for one",
          "raw_key_refused");
    }
    audit.key_source = std::string(to_string(KeySource::per_call));
    return bearer;
  }
  const SessionKeyCheck check = sessions->keys.verify(bearer->reveal(), context.now_unix());
  bearer.reset();  // the session key is needed no further
  switch (check.status) {
    case SessionKeyStatus::malformed:
      throw unauthorized("invalid session key", "session_key_malformed");
    case SessionKeyStatus::bad_mac:
      throw unauthorized("invalid session key", "session_key_bad_mac");
    case SessionKeyStatus::expired:
      audit.tenant = check.claims.tenant;
      audit.key_id = check.claims.key_id;
      throw unauthorized("the session key has expired; ask for a new one", "session_key_expired");
    case SessionKeyStatus::valid:
      break;
  }
  audit.tenant = check.claims.tenant;
  audit.key_id = check.claims.key_id;
  if (sessions->deny_list) {
    switch (sessions->deny_list->check(check.claims.tenant, check.claims.key_id)) {
      case Denial::tenant:
        throw unauthorized(
            "the session keys of tenant '" + check.claims.tenant + "' have been revoked",
            "tenant_revoked");
      case Denial::key_id:
        throw unauthorized("the session key has been revoked", "session_key_revoked");
      case Denial::unavailable:  // fail closed; the operator's log says why
        throw Refusal{503,
                      "server_error",
                      "deny_list_unavailable",
                      "the gateway cannot check revocations right now; retry later",
                      "",
                      "deny_list_unavailable"};
      case Denial::none:
        break;
    }
  }
  if (!sessions->tenants.contains(check.claims.tenant)) {
    throw Refusal{403,
                  "permission_error",
                  "tenant_not_configured",
                  "tenant '" + check.claims.tenant + "' is not configured on this gateway",
                  "",
                  "tenant_not_configured"};
  }
  return std::nullopt;
}

// A tenant's call gets the keys-file entry the tenants file names for the model's key name.
void use_tenant_key(const GatewayContext& context, const Model& model, PromptOptions& options,
                    AuditEvent& audit) {
  const ModelInfo& info = model.info();
  if (!info.accepts_key) {
    audit.key_source = std::string(to_string(KeySource::none));
    return;
  }
  std::optional<std::string> entry =
      context.sessions->tenants.entry_for(*audit.tenant, info.key_name);
  if (!entry) {
    throw Refusal{403,
                  "permission_error",
                  "model_not_allowed",
                  "tenant '" + *audit.tenant + "' has no key for model '" + info.id +
                      "' on this gateway (none is configured for key name '" + info.key_name + "')",
                  "model",
                  "tenant_no_key"};
  }
  options.key_name = std::move(*entry);
  audit.key_source = std::string(to_string(KeySource::stored_name));
  if (context.sticky_versions) context.sticky_versions->apply(audit, options);
}

void add_call_headers(http::Headers& headers, const std::string& ignored,
                      const std::vector<std::string>& warnings) {
  if (!ignored.empty()) headers.emplace_back("X-Llmrt-Ignored-Parameters", ignored);
  for (const auto& warning : warnings) headers.emplace_back("X-Llmrt-Warning", warning);
}

void write_audit(GatewayContext& context, AuditEvent event, int status, std::string outcome) {
  if (!context.audit) return;
  event.status = status;
  event.outcome = std::move(outcome);
  context.audit->write(std::move(event));
}

// The call's deadline: --request-timeout, or the shorter one the client asks for with
// `X-Llmrt-Timeout-Ms: N`.
std::chrono::milliseconds call_deadline(const GatewayContext& context,
                                        const http::Request& request) {
  const std::chrono::milliseconds limit = context.config.request_timeout;
  const std::string* asked = request.header("X-Llmrt-Timeout-Ms");
  if (asked == nullptr) return limit;
  std::uint64_t ms = 0;
  const char* end = asked->data() + asked->size();
  const auto [stop, error] = std::from_chars(asked->data(), end, ms);
  if (error != std::errc{} || stop != end || ms == 0) {
    throw Refusal{400, "invalid_request_error",
                  "",  "X-Llmrt-Timeout-Ms must be a positive whole number of milliseconds",
                  "",  "bad_request"};
  }
  return std::min(limit, std::chrono::milliseconds(ms));
}

// One admitted-or-waiting chat call, shared by the I/O thread that took it, the timers and the
// runtime's worker that runs it (and then its completion).
class ChatCall : public std::enable_shared_from_this<ChatCall> {
 public:
  ChatCall(GatewayContext& context, std::shared_ptr<http::Exchange> exchange, AccessRecord record,
           AuditEvent audit, Model model)
      : context_(context),
        exchange_(std::move(exchange)),
        record_(std::move(record)),
        audit_(std::move(audit)),
        model_(std::move(model)),
        id_(CompletionId::make(record_.model)) {}

  std::string text;
  PromptOptions options;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string ignored;
  std::vector<std::string> early_warnings;  // known before the call (a stream's headers)
  std::chrono::milliseconds deadline{0};

  // On the I/O thread: a slot now, a place in the queue, or 503.
  void admit() {
    auto self = shared_from_this();
    exchange_->on_client_gone([self] { self->on_gone(); });
    Admission::Entry entry = context_.admission.enter(
        record_.model,
        [self](std::unique_ptr<Admission::Ticket> ticket) { self->start(std::move(ticket)); });
    if (entry.ticket) {
      start(std::move(entry.ticket));
      return;
    }
    if (entry.waiter == 0) {
      answer_refusal({503, "server_error", "overloaded",
                      "the gateway is at its limit of concurrent calls; retry shortly", "",
                      "overloaded"});
      return;
    }
    std::lock_guard lock(mutex_);
    waiter_ = entry.waiter;
    if (!admitted_ && !answered_) {
      timer_ = context_.server->after(context_.config.max_wait, [self] { self->on_wait_over(); });
    }
  }

 private:
  // Holds a slot: arm the call's deadline and queue the call on the runtime's pool. This only
  // queues (it never waits for the model), so it runs on whichever thread granted the slot.
  void start(std::unique_ptr<Admission::Ticket> ticket) {
    auto self = shared_from_this();
    std::unique_lock lock(mutex_);
    admitted_ = true;
    if (answered_) return;  // the client left (or the wait ended) meanwhile: the slot goes back
    ticket_ = std::move(ticket);
    if (timer_) timer_->cancel();
    timer_ = context_.server->after(deadline, [self] { self->on_timeout(); });
    PromptOptions call_options = std::move(options);
    call_options.stream = stream;
    call_options.on_chunk = [self](std::string_view chunk) { return self->on_chunk(chunk); };
    // Counted before the call exists, so that the gateway cannot go while its completion runs.
    Completion completion{context_.calls->enter(), self};
    try {
      // Under mutex_: a timeout or a client leaving meanwhile finds call_ set and cancels it.
      call_.emplace(model_.prompt_async(std::move(text), std::move(call_options)));
    } catch (const Error& error) {
      ticket_.reset();
      lock.unlock();
      on_failed(error);
      return;
    }
    AsyncResponse call = *call_;
    lock.unlock();
    call.on_complete(std::move(completion));
  }

  // The call's completion callback: holds the call, then its count (released last, after the
  // call: the gateway's destruction waits for it).
  struct Completion {
    CallsInFlight::Token in_flight;
    std::shared_ptr<ChatCall> call;
    void operator()(AsyncResponse& finished) const { call->complete(finished); }
  };

  // On the runtime's worker, once the plugin has returned.
  void complete(AsyncResponse& finished) {
    // Only now is its slot free, and it is freed before the answer goes out, so that a client
    // that has its answer finds the slot free.
    release_slot();
    try {
      on_done(finished.get());
    } catch (const Error& error) {
      on_failed(error);
    } catch (const std::exception& error) {
      on_failed(Error(ErrorCode::plugin_failed, error.what()));
    }
  }

  void release_slot() {
    std::lock_guard lock(mutex_);
    ticket_.reset();
    call_.reset();
  }

  // On the runtime's worker, for each chunk the plugin writes. False stops the call.
  bool on_chunk(std::string_view chunk) {
    if (stopped_) return false;
    if (!stream) {
      if (reply_.size() + chunk.size() > context_.config.max_reply_bytes) {
        too_large_ = true;
        stopped_ = true;
        return false;
      }
      reply_.append(chunk);
      return true;
    }
    std::string event;
    {
      std::lock_guard lock(mutex_);
      if (answered_) return false;
      const std::string text_part = repair_.feed(chunk);
      if (!started_) {
        started_ = true;
        http::Headers headers{{"X-Request-Id", audit_.request_id}, {"Cache-Control", "no-cache"}};
        add_call_headers(headers, ignored, early_warnings);
        exchange_->start_stream(200, std::move(headers), "text/event-stream");
        event = chunk_event(id_, text_part, true, include_usage);
      } else if (!text_part.empty()) {
        event = chunk_event(id_, text_part, false, include_usage);
      }
    }
    // Outside the lock: this waits while the client's buffer is full.
    if (!event.empty() && !exchange_->write(event)) {
      stopped_ = true;
      return false;
    }
    return true;
  }

  void on_done(const Response& answer) {
    std::lock_guard lock(mutex_);
    if (!claim()) return;
    if (exchange_->client_gone()) return log(499, "client_disconnected");
    audit_.key_source = std::string(to_string(answer.key_source));
    note_key_version(context_.sticky_versions.get(), audit_, answer);
    if (answer.usage) {
      if (answer.usage->input_tokens >= 0) audit_.input_tokens = answer.usage->input_tokens;
      if (answer.usage->output_tokens >= 0) audit_.output_tokens = answer.usage->output_tokens;
    }
    if (!stream) {
      if (too_large_) {
        const Refusal refusal{502,
                              "server_error",
                              "reply_too_large",
                              "the model's reply is larger than the gateway's limit of " +
                                  std::to_string(context_.config.max_reply_bytes) +
                                  " bytes (--max-reply-bytes); ask for less, or stream it",
                              "",
                              "reply_too_large"};
        exchange_->respond(error_reply(refusal, audit_.request_id));
        return log(refusal.status, outcome_of(refusal));
      }
      http::Reply reply;
      reply.headers.emplace_back("X-Request-Id", audit_.request_id);
      add_call_headers(reply.headers, ignored, answer.warnings);
      reply.headers.emplace_back("X-Llmrt-Key-Source", std::string(to_string(answer.key_source)));
      reply.body = completion_body(id_, valid_utf8(reply_), answer.usage);
      std::string().swap(reply_);
      exchange_->respond(std::move(reply));
      return log(200, "ok");
    }
    std::string events;
    if (!started_) {
      started_ = true;
      http::Headers headers{{"X-Request-Id", audit_.request_id}, {"Cache-Control", "no-cache"}};
      add_call_headers(headers, ignored, answer.warnings);
      exchange_->start_stream(200, std::move(headers), "text/event-stream");
      events = chunk_event(id_, repair_.finish(), true, include_usage);
    } else {
      // The headers went out with the warnings known then; the ones that came later (eg: a plugin
      // that reported its usage twice) go as SSE comments.
      for (const std::string& warning : answer.warnings) {
        if (std::find(early_warnings.begin(), early_warnings.end(), warning) ==
            early_warnings.end()) {
          events += warning_comment(warning);
        }
      }
      if (std::string tail = repair_.finish(); !tail.empty()) {
        events += chunk_event(id_, tail, false, include_usage);
      }
    }
    events += final_events(id_, include_usage, answer.usage);
    exchange_->end_stream(events);
    log(200, "ok");
  }

  void on_failed(const Error& error) {
    std::lock_guard lock(mutex_);
    if (!claim()) return;
    if (exchange_->client_gone()) return log(499, "client_disconnected");
    const Refusal refusal = refusal_for(context_, error, audit_);
    if (!started_) {
      exchange_->respond(error_reply(refusal, audit_.request_id));
    } else {
      exchange_->end_stream(error_event(valid_utf8(refusal.message), refusal.type, refusal.code));
    }
    log(refusal.status, outcome_of(refusal));
  }

  // The call's deadline passed: stop it and say so (504, or an error event in a started stream).
  void on_timeout() {
    std::optional<AsyncResponse> call;
    {
      std::lock_guard lock(mutex_);
      if (!claim()) return;
      call = call_;
      const Refusal refusal{504,
                            "server_error",
                            "request_timeout",
                            "the model did not finish within " + std::to_string(deadline.count()) +
                                " ms; the call was stopped",
                            "",
                            "request_timeout"};
      if (!started_) {
        exchange_->respond(error_reply(refusal, audit_.request_id));
      } else {
        exchange_->end_stream(error_event(refusal.message, refusal.type, refusal.code));
      }
      log(refusal.status, outcome_of(refusal));
    }
    if (call) call->cancel();
  }

  // The client went away: stop the call (or leave the queue) at once.
  void on_gone() {
    std::optional<AsyncResponse> call;
    std::uint64_t waiter;
    {
      std::lock_guard lock(mutex_);
      if (!claim()) return;
      call = call_;
      waiter = admitted_ ? 0 : waiter_;
      log(499, "client_disconnected");
    }
    if (waiter != 0) context_.admission.withdraw(waiter);
    if (call) call->cancel();
  }

  // Waited --max-wait for a slot without getting one.
  void on_wait_over() {
    if (!context_.admission.withdraw(waiter_)) return;  // granted meanwhile
    answer_refusal({503, "server_error", "overloaded",
                    "no call slot became free within " +
                        std::to_string(context_.config.max_wait.count()) + " ms; retry shortly",
                    "", "overloaded"});
  }

  void answer_refusal(const Refusal& refusal) {
    std::lock_guard lock(mutex_);
    if (!claim()) return;
    exchange_->respond(error_reply(refusal, audit_.request_id));
    log(refusal.status, outcome_of(refusal));
  }

  // With mutex_ held: true for the one path that answers; it also stops the deadline timer.
  bool claim() {
    if (answered_) return false;
    answered_ = true;
    stopped_ = true;
    if (timer_) timer_->cancel();
    return true;
  }

  // Exactly once per request (after claim()): the access-log line and the audit line.
  void log(int status, std::string outcome) {
    record_.status = status;
    if (audit_.key_version) record_.key_version = *audit_.key_version;
    context_.access_log.write(record_);
    write_audit(context_, audit_, status, std::move(outcome));
  }

  GatewayContext& context_;
  const std::shared_ptr<http::Exchange> exchange_;
  AccessRecord record_;
  AuditEvent audit_;
  const Model model_;
  const CompletionId id_;

  std::atomic<bool> stopped_{false};  // the call should stop: on_chunk says so to the plugin
  std::string reply_;                 // a non-streamed reply (runtime worker, then complete())
  bool too_large_ = false;            // likewise

  std::mutex mutex_;  // guards what follows
  bool answered_ = false;
  bool admitted_ = false;
  bool started_ = false;  // a stream's headers have been sent
  Utf8Repair repair_;
  std::uint64_t waiter_ = 0;
  std::unique_ptr<Admission::Ticket> ticket_;
  std::optional<AsyncResponse> call_;
  std::shared_ptr<http::Timer> timer_;
};

}  // namespace

void handle_chat_completions(GatewayContext& context, http::Request request,
                             std::shared_ptr<http::Exchange> exchange) {
  AccessRecord record{
      request.method, request.path, "", 0, "", false, std::chrono::steady_clock::now()};
  AuditEvent audit;
  audit.request_id = make_request_id();
  auto refuse = [&](const Refusal& refusal) {
    exchange->respond(error_reply(refusal, audit.request_id));
    record.status = refusal.status;
    context.access_log.write(record);
    write_audit(context, audit, refusal.status, outcome_of(refusal));
  };
  try {
    std::optional<Key> bearer = take_client_key(request);
    // Only a log shows a fingerprint: with none on, do not spend a hash on it.
    if (bearer && (context.access_log.enabled() || context.audit)) {
      record.key_fingerprint = context.fingerprint(*bearer);
      audit.key_fingerprint = record.key_fingerprint;
    }
    std::optional<Key> key = authenticate(context, std::move(bearer), audit);
    ChatRequest chat;
    try {
      chat = parse_chat_request(request.body);
    } catch (const ProtocolError& error) {
      throw Refusal{400, "invalid_request_error", "", error.what(), error.param(), "bad_request"};
    }
    record.model = chat.model;
    record.stream = chat.stream;
    audit.model = chat.model;
    audit.stream = chat.stream;
    const auto accepted = context.model_options.find(chat.model);
    if (accepted == context.model_options.end()) {
      throw Refusal{404,
                    "invalid_request_error",
                    "model_not_found",
                    "the model '" + chat.model + "' does not exist; see GET /v1/models",
                    "model",
                    "model_not_found"};
    }
    const std::chrono::milliseconds deadline = call_deadline(context, request);
    const Model model = context.runtime.get_model(chat.model);
    ChatPrompt prompt;
    try {
      prompt = chat_prompt_for(chat, model.info(), accepted->second);
    } catch (const ProtocolError& error) {
      throw Refusal{400, "invalid_request_error", "", error.what(), error.param(), "bad_request"};
    }
    if (audit.tenant) use_tenant_key(context, model, prompt.options, audit);
    // A stream's headers go before the call's own warnings exist: those known now go in them.
    std::vector<std::string> early_warnings;
    if (chat.stream) {
      early_warnings = warnings_in_advance(model.info(), prompt.options, key.has_value());
    }
    prompt.options.key = std::move(key);
    auto call = std::make_shared<ChatCall>(context, exchange, record, audit, model);
    call->text = std::move(prompt.text);
    call->options = std::move(prompt.options);
    call->stream = chat.stream;
    call->include_usage = chat.include_usage;
    call->ignored = std::move(prompt.ignored);
    call->early_warnings = std::move(early_warnings);
    call->deadline = deadline;
    call->admit();
  } catch (const Refusal& refusal) {
    refuse(refusal);
  } catch (const Error& error) {
    refuse(refusal_for(context, error, audit));
  } catch (const std::exception& error) {
    refuse(server_side_failure(context, audit, error.what(), "internal_error"));
  }
}

}  // namespace llmrt::serve
