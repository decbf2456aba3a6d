// What every route of the gateway shares.
#ifndef LLMRT_SERVE_GATEWAY_CONTEXT_HPP
#define LLMRT_SERVE_GATEWAY_CONTEXT_HPP

#include <llmrt/runtime.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "access_log.hpp"
#include "admission.hpp"
#include "audit_log.hpp"
#include "call_pool.hpp"
#include "deny_list.hpp"
#include "gateway.hpp"
#include "http/http_server.hpp"
#include "session_keys.hpp"
#include "tenants.hpp"

namespace llmrt::serve {

// Session-key authentication, when the gateway has a master key.
struct SessionAuth {
  SessionKeys keys;
  Tenants tenants;
  std::unique_ptr<DenyList> deny_list;  // nullptr: no deny-list file
  bool allow_raw_client_keys = false;
};

struct GatewayContext {
  const Runtime& runtime;
  GatewayConfig config;
  Admission admission;
  AccessLog access_log;
  // Per model id, the option names its schema declares: decides what of a request is passed on.
  std::map<std::string, std::set<std::string>, std::less<>> model_options;
  std::unique_ptr<SessionAuth> sessions;            // nullptr: session keys off
  std::unique_ptr<KeyFingerprinter> fingerprinter;  // nullptr: plain sha256 fingerprints
  std::unique_ptr<AuditLog> audit;                  // nullptr: no audit log
  // Where model calls wait for their plugin (never an I/O thread), and the HTTP server (for its
  // timers). Set once the Gateway is built.
  CallPool* calls = nullptr;
  http::Server* server = nullptr;

  std::int64_t now_unix() const;
  // The fingerprint logged for a client's key: keyed (hmac:...) when the gateway has an audit key,
  // else Key::fingerprint() (sha256:...).
  std::string fingerprint(const Key& key) const;
  // One "llmrt: warning: ..." line on the warning log.
  void warn(const std::string& message) const;
};

// POST /v1/chat/completions. Runs on an I/O thread and returns at once; the call answers through
// `exchange` when it ends (chat_completions.cpp).
void handle_chat_completions(GatewayContext& context, http::Request request,
                             std::shared_ptr<http::Exchange> exchange);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_GATEWAY_CONTEXT_HPP
