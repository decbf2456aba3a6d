// The OpenAI-compatible HTTP gateway: GET /healthz, GET /readyz, GET /v1/models,
// POST /v1/chat/completions.
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
  std::string host = "127.0.0.1";   // loopback unless the operator says otherwise
  int port = 8080;                  // 0: any free port (see Gateway::bind)
  bool require_client_key = false;  // refuse requests without Authorization (401)

  // What a client may send (docs/serve.md#limits-and-deadlines).
  std::size_t max_body_bytes = 1 << 20;       // larger bodies, chunked too: 413
  std::size_t max_header_bytes = 16 * 1024;   // request line and headers; more: 431
  std::size_t max_header_count = 100;         // header fields; more: 431
  std::size_t max_connections = 10000;        // open connections; more are refused (503, closed)
  std::size_t max_connections_per_ip = 1024;  // open connections from one address; likewise
  // Calls.
  std::size_t max_concurrent = 32;              // calls running at once
  std::size_t max_concurrent_per_model = 0;     // on one model; 0: three quarters of max_concurrent
  std::size_t max_waiting = 64;                 // calls waiting for a slot; more get 503 at once
  std::chrono::milliseconds max_wait{10000};    // a waiting call gets 503 after this
  std::size_t max_reply_bytes = 16 << 20;       // a non-streamed reply larger than this: 502
  std::size_t stream_buffer_bytes = 64 * 1024;  // per connection; a stream's model waits past it
  // Deadlines, each for one phase.
  std::chrono::milliseconds header_timeout{10000};  // first byte to the end of the headers: 408
  std::chrono::milliseconds body_timeout{30000};    // end of the headers to the end of the body
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive between requests: closed
  std::chrono::milliseconds write_timeout{30000};   // each write to a client: closed, call stopped
  std::chrono::milliseconds request_timeout{300000};  // a model call: cancelled, 504
  std::size_t threads = 2;                            // I/O threads (not per connection)
  std::FILE* access_log = stderr;                     // one line per request; nullptr: off

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
  // Stops accepting connections, closes idle ones, and makes serve() return once in-flight
  // requests are done.
  void stop();
  // Model calls still running (or stuck in a plugin that ignores its stop).
  std::size_t calls_in_flight() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_GATEWAY_HPP
