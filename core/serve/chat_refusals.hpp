// How the chat route refuses a request or reports a failed call: OpenAI's error shape, the HTTP
// status and audit outcome for each llmrt error (a tenant's upstream-key problems stay the
// operator's), and Retry-After on a 503.
#ifndef LLMRT_SERVE_CHAT_REFUSALS_HPP
#define LLMRT_SERVE_CHAT_REFUSALS_HPP

#include <llmrt/error.hpp>

#include <string>

#include "audit_log.hpp"
#include "gateway_context.hpp"

namespace llmrt::serve {

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

// The audit log's outcome: `outcome`, else `code`, else "http_<status>".
std::string outcome_of(const Refusal& refusal);

// The reply for `refusal`: its status, X-Request-Id, Retry-After on a 503, OpenAI's error body.
http::Reply error_reply(const Refusal& refusal, const std::string& request_id);

// A failure of the gateway's own configuration: details to the operator's warning log (naming the
// request id), a generic 500 to the client.
Refusal server_side_failure(const GatewayContext& context, const AuditEvent& audit,
                            const std::string& details, std::string_view outcome);

// How a failed call is answered (the call's model and tenant are in `audit`).
Refusal refusal_for(const GatewayContext& context, const Error& error, const AuditEvent& audit);

// 401 invalid_api_key with `message`; `outcome` for the audit log.
Refusal unauthorized(std::string message, std::string outcome);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_CHAT_REFUSALS_HPP
