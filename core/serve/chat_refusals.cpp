#include "chat_refusals.hpp"

#include <algorithm>

#include "openai_protocol.hpp"
#include "utf8_repair.hpp"

namespace llmrt::serve {
namespace {

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

}  // namespace

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

Refusal refusal_for(const GatewayContext& context, const Error& error, const AuditEvent& audit) {
  Refusal refusal = refusal_for_code(context, error, audit);
  // A quarantined plugin says when it is tried again: clients back off that long, not 1 s.
  if (error.code() == ErrorCode::plugin_unavailable && refusal.status == 503) {
    refusal.retry_after_seconds = quarantine_seconds_left(context, audit.model);
  }
  return refusal;
}

Refusal unauthorized(std::string message, std::string outcome) {
  return {401, "authentication_error", "invalid_api_key", std::move(message),
          "",  std::move(outcome)};
}

}  // namespace llmrt::serve
