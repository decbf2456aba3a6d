#include "connection_pool.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace llmrt::provider {
namespace {

using Clock = std::chrono::steady_clock;

const char* first_env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return nullptr;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// NO_PROXY: "*", or entries "host", ".domain", "host:port", "[::1]:port", "1.2.3.4".
bool bypasses_proxy(const BaseUrl& base, std::string_view no_proxy) {
  const std::string host = lowered(base.host);
  while (!no_proxy.empty()) {
    const std::size_t comma = std::min(no_proxy.find(','), no_proxy.size());
    std::string entry = lowered(trimmed(no_proxy.substr(0, comma)));
    no_proxy.remove_prefix(std::min(comma + 1, no_proxy.size()));
    if (entry.empty()) continue;
    if (entry == "*") return true;
    std::string port;
    if (entry.starts_with('[')) {
      const std::size_t close = entry.find(']');
      if (close == std::string::npos) continue;
      if (close + 1 < entry.size() && entry[close + 1] == ':') port = entry.substr(close + 2);
      entry = entry.substr(1, close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      port = entry.substr(entry.find(':') + 1);
      entry.resize(entry.find(':'));
    }
    if (!port.empty() && port != std::to_string(base.port)) continue;
    if (entry.starts_with('.')) entry.erase(0, 1);
    if (host == entry || (host.size() > entry.size() && host.ends_with(entry) &&
                          host[host.size() - entry.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

std::string endpoint_name(const Endpoint& endpoint) {
  std::string name = endpoint.base.origin;
  if (endpoint.proxy) {
    name += " via " + endpoint.proxy->host + ":" + std::to_string(endpoint.proxy->port);
  }
  if (!endpoint.ca_file.empty()) name += " ca " + endpoint.ca_file;
  return name;
}

std::unique_ptr<httplib::Client> new_client(const Endpoint& endpoint) {
  auto client = std::make_unique<httplib::Client>(endpoint.base.origin);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);  // a redirect would carry the key's header elsewhere
  client->enable_server_certificate_verification(true);
  if (!endpoint.ca_file.empty()) client->set_ca_cert_path(endpoint.ca_file, std::string());
  if (endpoint.proxy) client->set_proxy(endpoint.proxy->host, endpoint.proxy->port);
  return client;
}

}  // namespace

std::optional<Proxy> proxy_from_environment(const BaseUrl& base) {
  const char* url = base.https() ? first_env({"HTTPS_PROXY", "https_proxy"})
                                 : first_env({"HTTP_PROXY", "http_proxy"});
  if (url == nullptr) return std::nullopt;
  if (const char* no_proxy = first_env({"NO_PROXY", "no_proxy"});
      no_proxy != nullptr && bypasses_proxy(base, no_proxy)) {
    return std::nullopt;
  }
  const char* variable = base.https() ? "HTTPS_PROXY" : "HTTP_PROXY";
  std::string_view text = trimmed(url);
  if (lowered(text.substr(0, 8)) == "https://") {
    throw ConfigError(std::string(variable) +
                      " names an https:// proxy: only http:// proxies are supported");
  }
  if (lowered(text.substr(0, 7)) == "http://") text.remove_prefix(7);
  const std::string_view authority = text.substr(0, text.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    throw ConfigError(std::string(variable) +
                      " has credentials in it: a proxy that needs them is not supported");
  }
  try {
    const BaseUrl parsed = parse_base_url("http://" + std::string(authority), variable);
    return Proxy{parsed.host, parsed.port == 80 && authority.find(':') == std::string_view::npos
                                  ? 80
                                  : parsed.port};
  } catch (const ConfigError&) {
    throw ConfigError(std::string(variable) + " is not a usable proxy (expected http://host:port)");
  }
}

PooledConnection::PooledConnection(std::unique_ptr<httplib::Client> client)
    : client_(std::move(client)), thread_([this] { work(); }) {
  // Called on the transfer thread with each new socket, before it connects.
  client_->set_socket_options([this](socket_t socket) {
    httplib::default_socket_options(socket);
    adopt_socket(socket);
  });
}

PooledConnection::~PooledConnection() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  client_.reset();  // closes httplib's descriptor; the socket goes with the last one, ours
  if (socket_copy_ >= 0) ::close(socket_copy_);
}

void PooledConnection::adopt_socket(int socket) {
  const int copy = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
  std::lock_guard lock(socket_mutex_);
  if (socket_copy_ >= 0) ::close(socket_copy_);  // httplib replaced the socket: the old one goes
  socket_copy_ = copy;
}

void PooledConnection::interrupt() {
  std::lock_guard lock(socket_mutex_);
  if (socket_copy_ >= 0) ::shutdown(socket_copy_, SHUT_RDWR);
}

void PooledConnection::run(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
  }
  wake_.notify_one();
}

void PooledConnection::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || job_ != nullptr; });
    if (job_ == nullptr) return;  // stopping, nothing left to do
    std::function<void()> job = std::move(job_);
    job_ = nullptr;
    lock.unlock();
    job();
    job = nullptr;  // what the job held goes before the caller is told it may reuse us
    lock.lock();
  }
}

ConnectionPool& ConnectionPool::shared() {
  static ConnectionPool pool;
  return pool;
}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      endpoint_(std::move(other.endpoint_)),
      connection_(std::move(other.connection_)),
      reusable_(other.reusable_) {
  other.pool_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) {
    pool_->give_back(endpoint_, std::move(connection_), reusable_);
  }
}

ConnectionPool::Lease ConnectionPool::acquire(const Endpoint& endpoint,
                                              const std::function<bool()>& should_stop) {
  Lease lease;
  lease.pool_ = this;
  lease.endpoint_ = endpoint_name(endpoint);
  std::vector<std::unique_ptr<PooledConnection>> expired;
  bool create = false;
  {
    std::unique_lock lock(mutex_);
    take_expired(expired);
    PerEndpoint& state = endpoints_[lease.endpoint_];
    for (;;) {
      if (!state.idle.empty()) {
        lease.connection_ = std::move(state.idle.back().connection);
        state.idle.pop_back();
        break;
      }
      if (state.open < std::max<std::size_t>(1, endpoint.max_connections)) {
        ++state.open;
        create = true;
        break;
      }
      returned_.wait_for(lock, std::chrono::milliseconds(50));
      if (should_stop && should_stop()) {
        lease.pool_ = nullptr;
        return lease;
      }
    }
  }
  expired.clear();  // closes them, outside the lock
  if (create) {
    try {
      lease.connection_ = std::make_unique<PooledConnection>(new_client(endpoint));
    } catch (...) {
      std::lock_guard lock(mutex_);
      --endpoints_[lease.endpoint_].open;
      returned_.notify_one();
      throw;
    }
  }
  return lease;
}

std::size_t ConnectionPool::open_connections(const Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  auto found = endpoints_.find(endpoint_name(endpoint));
  return found == endpoints_.end() ? 0 : found->second.open;
}

void ConnectionPool::give_back(const std::string& endpoint,
                               std::unique_ptr<PooledConnection> connection, bool reusable) {
  // A client whose socket is closed would reconnect on its next use: that is a new connection
  // anyway, so it is counted as closed now.
  reusable = reusable && connection->client().is_socket_open() != 0;
  std::vector<std::unique_ptr<PooledConnection>> expired;
  {
    std::lock_guard lock(mutex_);
    take_expired(expired);
    PerEndpoint& state = endpoints_[endpoint];
    if (reusable) {
      state.idle.push_back({std::move(connection), Clock::now()});
    } else {
      --state.open;
    }
  }
  returned_.notify_one();
  expired.clear();
  connection.reset();  // closes a connection not kept, outside the lock
}

void ConnectionPool::take_expired(std::vector<std::unique_ptr<PooledConnection>>& expired) {
  const auto limit = Clock::now() - kIdleTimeout;
  for (auto& [name, state] : endpoints_) {
    auto first_fresh = std::find_if(state.idle.begin(), state.idle.end(),
                                    [limit](const Idle& idle) { return idle.since >= limit; });
    for (auto it = state.idle.begin(); it != first_fresh; ++it) {
      expired.push_back(std::move(it->connection));
      --state.open;
    }
    state.idle.erase(state.idle.begin(), first_fresh);
  }
}

}  // namespace llmrt::provider
