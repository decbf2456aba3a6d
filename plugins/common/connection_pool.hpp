// Keep-alive HTTP connections shared by every call of a provider plugin, so that a call does not
// pay for a new TCP (and TLS) handshake each time.
//
// One pool per process (shared()), holding connections per endpoint: (scheme, host, port, proxy,
// trusted CAs). At most `max_connections` connections per endpoint are open at once; a call that
// finds them all busy waits for one. An idle connection is closed once it has been idle longer
// than the idle timeout (checked whenever the pool is used). A connection that failed, or whose
// answer was not read to its end, is closed, never handed out again.
//
// A key is never a property of a connection: it goes in each request's headers only, and the pool
// never sees a request. Tenants share nothing but the socket.
//
// Threading: acquire() and a Lease's destructor may run on any thread at once. A Lease (and its
// client) is used by one call at a time.
#ifndef LLMRT_PROVIDER_CONNECTION_POOL_HPP
#define LLMRT_PROVIDER_CONNECTION_POOL_HPP

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "models_file.hpp"

namespace llmrt::provider {

// An HTTP proxy, from HTTPS_PROXY / HTTP_PROXY (only http:// proxies; CONNECT is used for https).
struct Proxy {
  std::string host;  // eg: "proxy.internal"
  int port = 0;      // eg: 3128
  bool operator==(const Proxy&) const = default;
};

// The proxy for requests to `base` according to the environment: HTTPS_PROXY (https_proxy) for an
// https base, HTTP_PROXY (http_proxy) for http, none when NO_PROXY (no_proxy) lists the host: "*",
// a host name (also matching its subdomains; a leading '.' is allowed), or an IP address, each
// with an optional ":port". Throws ConfigError for a proxy URL it cannot use (not http://, or with
// credentials; the message does not repeat the URL, which may hold a password).
std::optional<Proxy> proxy_from_environment(const BaseUrl& base);

// Where a connection goes, and how it is verified.
struct Endpoint {
  BaseUrl base;
  std::optional<Proxy> proxy;
  std::string ca_file;  // PEM file of trusted CAs; empty: OpenSSL's defaults (SSL_CERT_FILE/DIR)
  std::size_t max_connections = kDefaultMaxConnections;
};

// One keep-alive connection and the thread that runs its transfers (httplib blocks; the calling
// thread must stay free to ask the host whether to stop). Pairing them means a call hands its
// transfer straight to an idle thread: no queue shared by every call.
class PooledConnection {
 public:
  explicit PooledConnection(std::unique_ptr<httplib::Client> client);
  ~PooledConnection();  // joins the thread (after its current job)
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;

  httplib::Client& client() { return *client_; }
  // Runs `job` on the connection's thread. One job at a time: the caller waits for it to finish
  // (by its own means) before the next run() or giving the connection back.
  void run(std::function<void()> job);

  // Shuts the socket down (both ways), from any thread: a transfer blocked on it fails at once.
  // The connection is not to be reused after that.
  void interrupt();

 private:
  void work();
  void adopt_socket(int socket);

  std::unique_ptr<httplib::Client> client_;
  // A duplicate of the client's current socket, ours to shut down: httplib's own descriptor may
  // be closed (and its number reused elsewhere) at any moment on the transfer thread; this one
  // stays valid until we close it.
  std::mutex socket_mutex_;
  int socket_copy_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::function<void()> job_;
  bool stopping_ = false;
  std::thread thread_;
};

class ConnectionPool {
 public:
  // How long an unused connection stays open (a little under the 5 s many servers keep it).
  static constexpr std::chrono::milliseconds kIdleTimeout{4000};

  // The process's pool.
  static ConnectionPool& shared();

  ConnectionPool() = default;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection checked out for one call. Its destructor gives the connection back, unless
  // discard() was called or its socket is closed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    explicit operator bool() const { return connection_ != nullptr; }
    httplib::Client& client() { return connection_->client(); }
    PooledConnection& connection() { return *connection_; }
    // The connection is broken or in an unknown state: close it instead of reusing it.
    void discard() { reusable_ = false; }

   private:
    friend class ConnectionPool;
    ConnectionPool* pool_ = nullptr;
    std::string endpoint_;
    std::unique_ptr<PooledConnection> connection_;
    bool reusable_ = true;
  };

  // A connection to `endpoint`: an idle one when there is one, else a new one (connected on first
  // use) while fewer than endpoint.max_connections are open, else the first one given back.
  // Waits while `should_stop` (polled every 50 ms on the calling thread) returns false; returns an
  // empty Lease once it returns true.
  Lease acquire(const Endpoint& endpoint, const std::function<bool()>& should_stop);

  // Connections open now for the endpoint of `base` (idle + in use), for tests and diagnostics.
  std::size_t open_connections(const Endpoint& endpoint);

 private:
  struct Idle {
    std::unique_ptr<PooledConnection> connection;
    std::chrono::steady_clock::time_point since;
  };
  struct PerEndpoint {
    std::vector<Idle> idle;  // most recently used last
    std::size_t open = 0;    // idle + leased
  };

  void give_back(const std::string& endpoint, std::unique_ptr<PooledConnection> connection,
                 bool reusable);
  // Takes out of the pool the idle connections past the idle timeout (closed by the caller,
  // outside the lock).
  void take_expired(std::vector<std::unique_ptr<PooledConnection>>& expired);

  std::mutex mutex_;
  std::condition_variable returned_;
  std::map<std::string, PerEndpoint, std::less<>> endpoints_;
};

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_CONNECTION_POOL_HPP
