// POST /v1/chat/completions: an OpenAI request in, one llmrt prompt call with the client's key (or,
// for a session key, its tenant's upstream key), an OpenAI response (JSON or SSE) out. The client's
// key lives in this call only. Every request gets an X-Request-Id and, with an audit log, one
// audit line.
#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <optional>

#include "gateway_context.hpp"
#include "openai_protocol.hpp"

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
  std::string outcome;  // for the audit log; empty: `code`
};

std::string outcome_of(const Refusal& refusal) {
  if (!refusal.outcome.empty()) return refusal.outcome;
  if (!refusal.code.empty()) return refusal.code;
  return "http_" + std::to_string(refusal.status);
}

void send_error(httplib::Response& response, const Refusal& refusal) {
  response.status = refusal.status;
  if (refusal.status == 503) response.set_header("Retry-After", "1");
  response.set_content(error_body(refusal.message, refusal.type, refusal.code, refusal.param),
                       "application/json");
}

// How a failed call is answered. A tenant's call runs with the operator's upstream key, which the
// tenant knows nothing of: problems with that key are the operator's (told on the warning log),
// and the tenant gets a message that names neither the key nor where it is stored.
Refusal refusal_for(const GatewayContext& context, const Error& error, const AuditEvent& audit) {
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
  const HttpError http = http_error_for(error.code());
  return {http.status,
          std::string(http.type),
          std::string(http.code),
          error.what(),
          "",
          std::string(to_string(error.code()))};
}

// The client's key from `Authorization: Bearer KEY`, or nullopt without the header. The header's
// bytes in the request are wiped once copied: the key then lives only in the returned Key.
std::optional<Key> take_client_key(const httplib::Request& request) {
  auto header = request.headers.find("Authorization");
  if (header == request.headers.end()) return std::nullopt;
  // The request object is the server's own, non-const; only the handler's view of it is const.
  std::string& value = const_cast<std::string&>(header->second);
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
}

// What of the request the model gets: the messages as-is if its schema takes "messages", else the
// last user message as the prompt text (and the system text if it takes "system"); sampling
// parameters only where its schema declares them.
PromptOptions prompt_options_for(const ChatRequest& chat, const std::set<std::string>& accepted,
                                 std::string& text, std::string& ignored) {
  json::object options;
  if (accepted.count("messages")) {
    options["messages"] = chat.messages;
  } else if (!chat.system_text.empty() && accepted.count("system")) {
    options["system"] = chat.system_text;
  }
  for (const auto& [name, value] : chat.sampling) {
    if (accepted.count(std::string(name))) {
      options[name] = value;
    } else {
      ignored += (ignored.empty() ? "" : ",") + std::string(name);
    }
  }
  text = chat.last_user_text;
  PromptOptions prompt;
  if (!options.empty()) prompt.options_json = json::serialize(options);
  return prompt;
}

void add_call_headers(httplib::Response& response, const std::string& ignored,
                      const std::vector<std::string>& warnings) {
  if (!ignored.empty()) response.set_header("X-Llmrt-Ignored-Parameters", ignored);
  for (const auto& warning : warnings) response.set_header("X-Llmrt-Warning", warning);
}

// Streams one async call as SSE, starting with a chunk that has already arrived.
struct StreamState {
  AsyncResponse call;
  std::unique_ptr<Admission::Ticket> ticket;  // the slot is held until the stream ends
  CompletionId id;
  std::string first_chunk;
  AccessRecord record;
  AuditEvent audit;
};

void write_audit(GatewayContext& context, AuditEvent event, int status, std::string outcome) {
  if (!context.audit) return;
  event.status = status;
  event.outcome = std::move(outcome);
  context.audit->write(std::move(event));
}

bool write_text(httplib::DataSink& sink, const std::string& text) {
  return sink.is_writable() && sink.write(text.data(), text.size());
}

void stream_to_client(GatewayContext& context, const std::shared_ptr<StreamState>& state,
                      httplib::DataSink& sink) {
  bool open = write_text(sink, chunk_event(state->id, state->first_chunk, true));
  while (open) {
    std::optional<std::string> chunk = state->call.next_chunk();
    if (!chunk) break;
    open = write_text(sink, chunk_event(state->id, *chunk, false));
  }
  if (!open) {
    state->call.cancel();  // the client went away: stop the model too
    state->call.wait();
    state->audit.outcome = "client_disconnected";
    return;
  }
  try {
    const Response answer = state->call.get();
    state->audit.key_source = std::string(to_string(answer.key_source));
    write_text(sink, final_events(state->id));
  } catch (const Error& error) {
    const Refusal refusal = refusal_for(context, error, state->audit);
    write_text(sink, error_event(refusal.message, refusal.type, refusal.code));
    state->record.status = refusal.status;  // logged as what the stream ended with
    state->audit.outcome = outcome_of(refusal);
  }
  sink.done();
}

}  // namespace

void handle_chat_completions(GatewayContext& context, const httplib::Request& request,
                             httplib::Response& response) {
  AccessRecord record{
      request.method, request.path, "", 0, "", false, std::chrono::steady_clock::now()};
  AuditEvent audit;
  audit.request_id = make_request_id();
  response.set_header("X-Request-Id", audit.request_id);
  auto finish = [&](int status, std::string outcome) {
    record.status = status;
    context.access_log.write(record);
    write_audit(context, audit, status, std::move(outcome));
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
    const Model model = context.runtime.get_model(chat.model);
    std::string text;
    std::string ignored;
    PromptOptions options = prompt_options_for(chat, accepted->second, text, ignored);
    if (audit.tenant) use_tenant_key(context, model, options, audit);
    const bool client_key_given = key.has_value();
    options.key = std::move(key);
    options.stream = chat.stream;

    std::unique_ptr<Admission::Ticket> ticket = context.admission.try_enter();
    if (!ticket) {
      throw Refusal{503,          "server_error",
                    "overloaded", "the gateway is at its limit of concurrent calls; retry shortly",
                    "",           "overloaded"};
    }
    if (!chat.stream) {
      const Response answer = model.prompt(text, std::move(options));
      audit.key_source = std::string(to_string(answer.key_source));
      add_call_headers(response, ignored, answer.warnings);
      response.set_header("X-Llmrt-Key-Source", std::string(to_string(answer.key_source)));
      response.set_content(completion_body(CompletionId::make(chat.model), answer.text),
                           "application/json");
      finish(200, "ok");
      return;
    }

    // Streaming: wait for the first chunk (or the end) before answering, so that errors before
    // any output still get their proper HTTP status.
    AsyncResponse call = model.prompt_async(std::move(text), std::move(options));
    std::optional<std::string> first = call.next_chunk();
    if (!first) {
      const Response answer = call.get();  // throws the call's error
      audit.key_source = std::string(to_string(answer.key_source));
      first = std::string();
      add_call_headers(response, ignored, answer.warnings);
    } else {
      // The call's own warnings come only at its end, after the headers have gone; the one that
      // matters here (a key the model cannot take) is known now.
      std::vector<std::string> warnings;
      if (client_key_given && !model.info().accepts_key) {
        warnings.push_back("model '" + chat.model +
                           "' does not use keys; the key given for this call was not sent");
      }
      add_call_headers(response, ignored, warnings);
    }
    auto state = std::make_shared<StreamState>(StreamState{std::move(call), std::move(ticket),
                                                           CompletionId::make(chat.model),
                                                           std::move(*first), record, audit});
    state->record.status = 200;
    state->audit.outcome = "ok";
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [&context, state](std::size_t, httplib::DataSink& sink) {
          stream_to_client(context, state, sink);
          return true;
        },
        [&context, state](bool) {
          context.access_log.write(state->record);
          write_audit(context, state->audit, state->record.status, state->audit.outcome);
        });
  } catch (const Refusal& refusal) {
    send_error(response, refusal);
    finish(refusal.status, outcome_of(refusal));
  } catch (const Error& error) {
    const Refusal refusal = refusal_for(context, error, audit);
    send_error(response, refusal);
    finish(refusal.status, outcome_of(refusal));
  } catch (const std::exception& error) {
    send_error(response, {500, "server_error", "", error.what(), "", "internal_error"});
    finish(500, "internal_error");
  }
}

}  // namespace llmrt::serve
