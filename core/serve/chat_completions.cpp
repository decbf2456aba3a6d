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
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <mutex>
#include <optional>

#include "chat_auth.hpp"
#include "chat_prompt.hpp"
#include "chat_refusals.hpp"
#include "gateway_context.hpp"
#include "openai_protocol.hpp"
#include "utf8_repair.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

void add_call_headers(http::Headers& headers, const std::string& ignored,
                      const std::vector<std::string>& warnings) {
  if (!ignored.empty()) headers.emplace_back("X-Llmrt-Ignored-Parameters", ignored);
  for (const auto& warning : warnings) headers.emplace_back("X-Llmrt-Warning", warning);
}

// Copies the event only when there is an audit log to write it to.
void write_audit(GatewayContext& context, const AuditEvent& audited, int status,
                 std::string outcome) {
  if (!context.audit) return;
  AuditEvent event = audited;
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
        audit_(std::make_unique<AuditEvent>(std::move(audit))),
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
        http::Headers headers{{"X-Request-Id", audit_->request_id}, {"Cache-Control", "no-cache"}};
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
    audit_->key_source = std::string(to_string(answer.key_source));
    note_key_version(context_.sticky_versions.get(), *audit_, answer);
    if (answer.usage) {
      if (answer.usage->input_tokens >= 0) audit_->input_tokens = answer.usage->input_tokens;
      if (answer.usage->output_tokens >= 0) audit_->output_tokens = answer.usage->output_tokens;
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
        log(refusal.status, outcome_of(refusal));
        exchange_->respond(error_reply(refusal, audit_->request_id));
        return;
      }
      http::Reply reply;
      reply.headers.emplace_back("X-Request-Id", audit_->request_id);
      add_call_headers(reply.headers, ignored, answer.warnings);
      reply.headers.emplace_back("X-Llmrt-Key-Source", std::string(to_string(answer.key_source)));
      reply.body = completion_body(id_, valid_utf8(reply_), answer.usage);
      std::string().swap(reply_);
      log(200, "ok");
      exchange_->respond(std::move(reply));
      return;
    }
    std::string events;
    if (!started_) {
      started_ = true;
      http::Headers headers{{"X-Request-Id", audit_->request_id}, {"Cache-Control", "no-cache"}};
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
    log(200, "ok");
    exchange_->end_stream(events);
  }

  void on_failed(const Error& error) {
    std::lock_guard lock(mutex_);
    if (!claim()) return;
    if (exchange_->client_gone()) return log(499, "client_disconnected");
    const Refusal refusal = refusal_for(context_, error, *audit_);
    log(refusal.status, outcome_of(refusal));
    if (!started_) {
      exchange_->respond(error_reply(refusal, audit_->request_id));
    } else {
      exchange_->end_stream(error_event(valid_utf8(refusal.message), refusal.type, refusal.code));
    }
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
      log(refusal.status, outcome_of(refusal));
      if (!started_) {
        exchange_->respond(error_reply(refusal, audit_->request_id));
      } else {
        exchange_->end_stream(error_event(refusal.message, refusal.type, refusal.code));
      }
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
    log(refusal.status, outcome_of(refusal));
    exchange_->respond(error_reply(refusal, audit_->request_id));
  }

  // With mutex_ held: true for the one path that answers; it also stops the deadline timer.
  bool claim() {
    if (answered_) return false;
    answered_ = true;
    stopped_ = true;
    if (timer_) timer_->cancel();
    return true;
  }

  // Exactly once per request (after claim()): the access-log line and the audit line. Written
  // before the answer is handed to the connection, so that a client that has its answer finds its
  // lines in the logs, and requests one client sends in turn are logged in that order.
  void log(int status, std::string outcome) {
    record_.status = status;
    if (audit_->key_version) record_.key_version = *audit_->key_version;
    context_.access_log.write(record_);
    write_audit(context_, *audit_, status, std::move(outcome));
  }

  GatewayContext& context_;
  const std::shared_ptr<http::Exchange> exchange_;
  AccessRecord record_;
  // Out of line: with it inside, a call is too large for malloc's per-thread cache, and each
  // allocation of one (one per request) made glibc consolidate its free lists.
  const std::unique_ptr<AuditEvent> audit_;
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
    record.status = refusal.status;
    context.access_log.write(record);
    write_audit(context, audit, refusal.status, outcome_of(refusal));
    exchange->respond(error_reply(refusal, audit.request_id));
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
