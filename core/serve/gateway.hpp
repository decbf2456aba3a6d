// The OpenAI-compatible HTTP gateway: GET /healthz, GET /v1/models, POST /v1/chat/completions.
// Each request's `Authorization: Bearer KEY` is that call's per-call key, for that call only.
#ifndef LLMRT_SERVE_GATEWAY_HPP
#define LLMRT_SERVE_GATEWAY_HPP

#include <llmrt/runtime.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace llmrt::serve {

struct GatewayConfig {
  std::string host = "127.0.0.1";             // loopback unless the operator says otherwise
  int port = 8080;                            // 0: any free port (see Gateway::bind)
  bool require_client_key = false;            // refuse requests without Authorization (401)
  std::size_t max_body_bytes = 1 << 20;       // larger bodies get 413
  std::size_t max_concurrent = 32;            // calls running at once
  std::size_t max_waiting = 64;               // calls waiting for a slot; more get 503 at once
  std::chrono::milliseconds max_wait{10000};  // a waiting call gets 503 after this
  std::size_t threads = 64;                   // HTTP worker threads (one per keep-alive connection)
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::FILE* access_log = stderr;  // one line per request; nullptr: off

  // Session keys (docs/serve.md#session-keys). With a master key file, a bearer token
  // "llmrt-sk1...." is verified and its call served with its tenant's upstream key (named in the
  // tenants file); other bearer tokens get 401 unless allow_raw_client_keys, and requests without
  // a key get 401. master_key_file and tenants_file go together.
  std::filesystem::path master_key_file;
  std::filesystem::path previous_master_key_file;  // also accepted, for a rotation overlap
  std::filesystem::path tenants_file;
  std::filesystem::path deny_list_file;  // revoked key ids and tenants; re-read when it changes
  bool allow_raw_client_keys = false;
  // Audit (docs/audit.md): one JSON line per chat request. Fingerprints are keyed with
  // audit_key_file if given, else a key derived from the master key, else a per-process random key.
  std::filesystem::path audit_log_file;
  std::filesystem::path audit_key_file;
  // Key versions (docs/keys.md#key-versions): each tenant session keeps its first version.
  bool key_version_sticky = false;
  // Unix seconds, for session-key expiry; default: the system clock. Tests inject their own.
  std::function<std::int64_t()> clock;
  std::FILE* warning_log =
      stderr;  // operator warnings (eg: a deny-list line skipped); nullptr: off
};

// Threading: bind() and serve() from one thread; stop() from any thread (eg: a signal watcher).
// The Runtime must outlive the Gateway.
class Gateway {
 public:
  // Reads the key, tenants and deny-list files and opens the audit log now: throws llmrt::Error
  // naming the file at fault (Error(keys_file) for an unsafe or malformed key file).
  Gateway(const Runtime& runtime, GatewayConfig config);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the listening socket; returns the port. Throws Error(io) if it cannot.
  int bind();
  // Serves until stop(); in-flight requests finish before it returns.
  void serve();
  // Stops accepting connections and makes serve() return once in-flight requests are done.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_GATEWAY_HPP
