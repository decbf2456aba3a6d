#include "chat_auth.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "chat_refusals.hpp"

namespace llmrt::serve {

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

}  // namespace llmrt::serve
