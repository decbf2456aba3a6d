// The OpenAI-compatible HTTP gateway: GET /healthz, GET /v1/models, POST /v1/chat/completions.
// Each request's `Authorization: Bearer KEY` is that call's per-call key, for that call only.
#ifndef LLMRT_SERVE_GATEWAY_HPP
#define LLMRT_SERVE_GATEWAY_HPP

#include <llmrt/runtime.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
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
};

// Threading: bind() and serve() from one thread; stop() from any thread (eg: a signal watcher).
// The Runtime must outlive the Gateway.
class Gateway {
 public:
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
