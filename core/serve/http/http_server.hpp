// The gateway's HTTP/1.1 server: event-driven (Boost.Beast on Boost.Asio, which stay inside
// http_server.cpp), with a deadline for every phase of a connection, limits on everything a client
// controls, bounded output buffers with backpressure, keep-alive and pipelining (one request at a
// time per connection, answered in order).
//
// A connection costs memory, never a thread: a few I/O threads serve every connection. The handler
// runs on an I/O thread and must not block; long work (a model call) goes elsewhere and answers
// through its Exchange from any thread.
#ifndef LLMRT_SERVE_HTTP_HTTP_SERVER_HPP
#define LLMRT_SERVE_HTTP_HTTP_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrt::serve::http {

struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024;         // request line + headers; more: 431
  std::size_t max_header_count = 100;               // header fields; more: 431
  std::size_t max_body_bytes = 1 << 20;             // any transfer encoding, chunked too; more: 413
  std::size_t max_connections = 10000;              // open client connections; more are refused
  std::size_t max_connections_per_ip = 256;         // per client address; more are refused
  std::size_t output_buffer_bytes = 64 * 1024;      // per connection, before a writer waits
  std::size_t max_pipelined_bytes = 64 * 1024;      // read ahead while a request is handled
  std::chrono::milliseconds header_timeout{10000};  // first byte to the end of the headers
  std::chrono::milliseconds body_timeout{30000};    // end of the headers to the end of the body
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive: between requests
  std::chrono::milliseconds write_timeout{30000};   // each write to the client
  std::size_t io_threads = 2;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request, read whole (headers and body) before the handler sees it.
struct Request {
  std::string method;  // eg: "POST"
  std::string target;  // as sent, eg: "/v1/chat/completions?x=1"
  std::string path;    // the target without its query
  Headers headers;     // in the order sent; names as sent
  std::string body;
  std::string peer;  // the client's address, eg: "127.0.0.1"

  // The first value of header `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // The first value, modifiable (eg: to wipe a key once copied), or nullptr.
  std::string* header(std::string_view name);
};

// A reply sent whole.
struct Reply {
  int status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;
};

// The answer channel of one request. Thread-safe: every member may be called from any thread.
// Exactly one of respond() or start_stream()...end_stream() answers a request; anything after the
// first answer, or after the client has gone, is ignored.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void respond(Reply reply) = 0;
  // Sends the status line and headers of a chunked reply.
  virtual void start_stream(int status, Headers headers, std::string content_type) = 0;
  // Queues `data` as a chunk. Blocks while the connection's output buffer is full (backpressure);
  // returns false once the client has gone or a write to it timed out (then stop producing).
  virtual bool write(std::string_view data) = 0;
  // Queues `last` (may be empty) and ends the chunked reply.
  virtual void end_stream(std::string_view last) = 0;
  // `callback` runs once, on an I/O thread, if the client goes away (closes, resets, or a write to
  // it times out) before the answer has been written; at once if it already has.
  virtual void on_client_gone(std::function<void()> callback) = 0;
  virtual bool client_gone() const = 0;
};

using Handler = std::function<void(Request request, std::shared_ptr<Exchange> exchange)>;

// Something the server refused before any handler saw it (431, 413, 400), or a client that left
// before its request was whole. For the access log.
struct Refusal {
  std::string method;  // "-" when the request line was not read
  std::string path;    // "-" likewise
  int status = 0;      // 0: no reply (the client went away or was too slow)
  std::string reason;  // eg: "header_limit", "body_limit", "header_timeout"
};

struct Counters {
  std::size_t connections = 0;  // open client connections
  std::size_t refused_connections = 0;
};

// A pending call of Server::after(); cancel() from any thread.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void cancel() = 0;
};

// Threading: bind() then serve() from one thread; stop() and counters() from any thread.
class Server {
 public:
  // `on_refusal` logs a refusal and gives the body of its answer (its status is the refusal's).
  // It runs on an I/O thread and must not block.
  Server(ServerLimits limits, Handler handler, std::function<Reply(const Refusal&)> on_refusal);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on host:port (0: any free port); returns the port. Throws std::runtime_error.
  int bind(const std::string& host, int port);
  // Runs the I/O threads until stop() and until every connection has closed.
  void serve();
  // Stops accepting, closes idle connections at once, and lets requests in flight finish (their
  // connections close after their answer).
  void stop();
  Counters counters() const;
  // Runs `callback` on an I/O thread after `delay`, unless cancelled first. Must not block.
  std::shared_ptr<Timer> after(std::chrono::milliseconds delay, std::function<void()> callback);

  struct State;  // http_server.cpp's own

 private:
  std::shared_ptr<State> state_;
};

}  // namespace llmrt::serve::http

#endif  // LLMRT_SERVE_HTTP_HTTP_SERVER_HPP
