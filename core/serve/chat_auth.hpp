// Who a chat request is from: the client's bearer token taken out of the request (and wiped
// there), a session key verified (tenant, revocation, configured tenant), and a tenant's call given
// its upstream key's keys-file entry. Each refusal is thrown as a Refusal.
#ifndef LLMRT_SERVE_CHAT_AUTH_HPP
#define LLMRT_SERVE_CHAT_AUTH_HPP

#include <llmrt/key.hpp>
#include <llmrt/model.hpp>

#include <optional>

#include "audit_log.hpp"
#include "gateway_context.hpp"

namespace llmrt::serve {

// The client's key from `Authorization: Bearer KEY`, or nullopt without the header. The header's
// bytes in the request are wiped once copied. Throws Refusal (400) for a malformed header.
std::optional<Key> take_client_key(http::Request& request);

// Returns the per-call key to use (a raw client key), or nullopt; for a session key, the tenant is
// set in `audit` and the session key itself is dropped (and wiped). Throws Refusal (401/403/503).
std::optional<Key> authenticate(GatewayContext& context, std::optional<Key> bearer,
                                AuditEvent& audit);

// A tenant's call gets the keys-file entry the tenants file names for the model's key name.
// Throws Refusal (403) when the tenant has none.
void use_tenant_key(const GatewayContext& context, const Model& model, PromptOptions& options,
                    AuditEvent& audit);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_CHAT_AUTH_HPP
