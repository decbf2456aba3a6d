#include "http_call.hpp"

#include <netdb.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

#include "error_text.hpp"

namespace llmrt::provider {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{50};
constexpr std::size_t kMaxQueuedBytes = 64u << 20;

// What the I/O thread hands to the calling thread.
struct Event {
  enum Kind { kResponse, kData, kEnd } kind;
  std::string bytes;           // kData
  httplib::Response response;  // kResponse: status and headers
  bool sent = false;           // kEnd
  httplib::Error error = httplib::Error::Success;
};

struct Transfer {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Event> events;
  std::size_t queued_bytes = 0;
  bool stop = false;  // the calling thread wants the transfer to end

  // `wake`: the calling thread should see it now (streamed bytes, the end); otherwise it finds
  // the event on its next round, which saves a wake-up per event on whole answers.
  void push(Event event, bool wake) {
    {
      std::lock_guard lock(mutex);
      queued_bytes += event.bytes.size();
      events.push_back(std::move(event));
    }
    if (wake) ready.notify_one();
  }
  bool stopping() {
    std::lock_guard lock(mutex);
    return stop || queued_bytes > kMaxQueuedBytes;
  }
};

// Why a connection to `base` fails. httplib only says "Connection" (its non-blocking connect leaves
// the reason in the socket it then closes), so one more connection attempt finds out; nothing is
// sent on it. Only used after httplib failed to connect.
std::string connect_failure_reason(const BaseUrl& base, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int resolved =
      ::getaddrinfo(base.host.c_str(), std::to_string(base.port).c_str(), &hints, &found);
  if (resolved != 0) {
    return "cannot resolve the host name '" + base.host + "' (" + ::gai_strerror(resolved) + ")";
  }
  int error = 0;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    error = 0;
    if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd ready{fd, POLLOUT, 0};
        const int polled = ::poll(&ready, 1, static_cast<int>(timeout.count()));
        socklen_t size = sizeof error;
        if (polled == 0) {
          error = ETIMEDOUT;
        } else if (polled < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
          error = errno;
        }
      }
    }
    ::close(fd);
    if (error == 0) break;
  }
  ::freeaddrinfo(found);
  switch (error) {
    case 0:
      return "connection failed";  // it works now: the failure was transient
    case ECONNREFUSED:
      return "connection refused";
    case ETIMEDOUT:
      return "timed out";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return "host unreachable";
    default:
      return std::string("connection failed (") + std::strerror(error) + ")";
  }
}

std::string milliseconds_text(milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

bool retryable_status(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool retryable_transport(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Read:
    case httplib::Error::Write:
    case httplib::Error::SSLConnection:
      return true;
    default:
      return false;
  }
}

// What the server asked for, when it asked for 0-60 s (as the SDKs do).
std::optional<milliseconds> requested_delay(const httplib::Response& response) {
  const auto parse = [](const std::string& text) -> std::optional<double> {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end == text.c_str() || !std::isfinite(value)) return std::nullopt;
    return value;
  };
  std::optional<double> ms;
  if (response.has_header("retry-after-ms")) {
    ms = parse(response.get_header_value("retry-after-ms"));
  }
  if (!ms && response.has_header("retry-after")) {
    if (const auto seconds = parse(response.get_header_value("retry-after"))) ms = *seconds * 1000;
  }
  if (!ms || *ms < 0 || *ms > 60000) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(*ms));
}

milliseconds backoff(int retries_done) {
  thread_local std::mt19937 random{std::random_device{}()};
  const double seconds = std::min(0.5 * std::pow(2.0, retries_done), 8.0);
  const double jitter = 1.0 - 0.25 * std::uniform_real_distribution<double>(0, 1)(random);
  return milliseconds(static_cast<std::int64_t>(seconds * jitter * 1000));
}

// Sleeps, asking the host every 50 ms whether to stop. False if it said so.
bool pause(milliseconds delay, sdk::Output& out) {
  const auto until = Clock::now() + delay;
  while (Clock::now() < until) {
    if (out.stop_requested()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollInterval, until - Clock::now()));
  }
  return !out.stop_requested();
}

// Wipes the values of the headers that carry secrets when it goes out of scope, whatever happens.
class HeaderWiper {
 public:
  HeaderWiper(httplib::Headers& headers, const std::vector<std::string>& names)
      : headers_(headers), names_(names) {}
  HeaderWiper(const HeaderWiper&) = delete;
  HeaderWiper& operator=(const HeaderWiper&) = delete;
  ~HeaderWiper() {
    for (const std::string& name : names_) {
      const auto [begin, end] = headers_.equal_range(name);
      for (auto it = begin; it != end; ++it) {
        if (!it->second.empty()) OPENSSL_cleanse(it->second.data(), it->second.size());
        it->second.clear();
      }
    }
  }

 private:
  httplib::Headers& headers_;
  const std::vector<std::string>& names_;
};

// One attempt: what the calling thread saw of it.
struct AttemptResult {
  int status = 0;
  std::optional<milliseconds> requested_delay;
  TransferEnd end;
  bool cancelled = false;
};

AttemptResult run_attempt(HttpRequest& request, httplib::Request& http, AttemptReader& reader,
                          sdk::Output& out) {
  AttemptResult result;
  ConnectionPool::Lease lease =
      ConnectionPool::shared().acquire(request.endpoint, [&out] { return out.stop_requested(); });
  if (!lease) {
    result.cancelled = true;
    return result;
  }
  httplib::Client& client = lease.client();
  client.set_connection_timeout(request.connect_timeout);
  client.set_read_timeout(request.read_timeout);
  client.set_write_timeout(request.read_timeout);

  auto transfer = std::make_shared<Transfer>();
  const bool stream = request.stream;
  http.response_handler = [transfer, stream](const httplib::Response& response) {
    Event event{Event::kResponse};
    event.response.status = response.status;
    event.response.headers = response.headers;
    transfer->push(std::move(event), stream);
    return !transfer->stopping();
  };
  http.content_receiver = [transfer, stream](const char* data, std::size_t size, std::uint64_t,
                                             std::uint64_t) {
    transfer->push(Event{Event::kData, std::string(data, size)}, stream);
    return !transfer->stopping();
  };
  lease.connection().run([transfer, &client, &http] {
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    bool sent = false;
    if (!transfer->stopping()) sent = client.send(http, response, error);
    Event end{Event::kEnd};
    end.sent = sent;
    end.error = sent || error != httplib::Error::Success ? error : httplib::Error::Canceled;
    transfer->push(std::move(end), true);
  });

  // The calling thread: reads what arrives, asks the host every 50 ms whether to stop.
  auto last_bytes = Clock::now();
  bool ended = false;
  // Should anything below throw, the transfer thread is done with `http` and `client` before
  // they go, and the connection is not reused.
  struct WaitForEnd {
    Transfer& transfer;
    ConnectionPool::Lease& lease;
    const bool& ended;
    ~WaitForEnd() {
      if (ended) return;
      lease.discard();
      std::unique_lock lock(transfer.mutex);
      transfer.stop = true;
      while (std::none_of(transfer.events.begin(), transfer.events.end(),
                          [](const Event& event) { return event.kind == Event::kEnd; })) {
        lock.unlock();
        lease.connection().interrupt();
        lock.lock();
        transfer.ready.wait_for(lock, kPollInterval);
      }
    }
  } wait_for_end{*transfer, lease, ended};
  bool reading = true;  // the reader still wants bytes
  bool complete_read = false;
  Clock::time_point done_at;
  while (!ended) {
    std::deque<Event> events;
    {
      std::unique_lock lock(transfer->mutex);
      transfer->ready.wait_for(lock, kPollInterval, [&] { return !transfer->events.empty(); });
      events.swap(transfer->events);
      transfer->queued_bytes = 0;
    }
    for (Event& event : events) {
      switch (event.kind) {
        case Event::kResponse:
          last_bytes = Clock::now();
          result.status = event.response.status;
          result.requested_delay = requested_delay(event.response);
          reader.on_response(event.response);
          break;
        case Event::kData:
          last_bytes = Clock::now();
          if (reading && !reader.on_data(event.bytes)) {
            reading = false;
            done_at = Clock::now();
          }
          break;
        case Event::kEnd:
          ended = true;
          result.end.sent = event.sent;
          result.end.error = event.error;
          complete_read = event.sent;
          break;
      }
    }
    // A reader that has the whole answer (eg: after [DONE]) gives the server one more round to end
    // the body, so that the connection can be reused; some servers and proxies hold it open.
    if (!ended && (out.stop_requested() || (!reading && Clock::now() - done_at >= kPollInterval))) {
      {
        std::lock_guard lock(transfer->mutex);
        transfer->stop = true;
      }
      // Ends a blocked read or write at once; again each round until the transfer ends (the
      // socket may not exist yet when the transfer is still connecting).
      lease.connection().interrupt();
    }
  }
  result.end.idle = std::chrono::duration_cast<milliseconds>(Clock::now() - last_bytes);
  result.cancelled = out.stop_requested();
  // Only a connection whose answer was read to its end, as the server sent it, is reused.
  if (!complete_read || result.cancelled) lease.discard();
  return result;
}

}  // namespace

void throw_transport_failure(const BaseUrl& base, const std::string& url,
                             const HttpRequest& request, const TransferEnd& end, bool started,
                             bool stream, std::string_view stream_end) {
  const std::string_view key = request.key;
  switch (end.error) {
    case httplib::Error::Connection:
      throw_error(
          LLMRT_UNAVAILABLE,
          "could not connect to " + base.text + ": " +
              connect_failure_reason(base, std::min(request.connect_timeout, milliseconds(1000))),
          key);
    case httplib::Error::ConnectionTimeout:
      throw_error(LLMRT_UNAVAILABLE,
                  "could not connect to " + base.text + ": timed out after " +
                      milliseconds_text(request.connect_timeout) + " (option connect_timeout_ms)",
                  key);
    case httplib::Error::Read:
      // httplib says "Read" both for a timeout and for a closed connection: the time since the
      // last bytes tells them apart.
      if (end.idle * 10 >= request.read_timeout * 9) {
        throw_error(LLMRT_UNAVAILABLE,
                    "no answer from " + url + ": timed out after " +
                        milliseconds_text(request.read_timeout) +
                        " without data (option read_timeout_ms)",
                    key);
      }
      if (stream) {
        throw_error(LLMRT_FAILED,
                    "the stream from " + url + " ended early (the connection closed before " +
                        std::string(stream_end) + ")",
                    key);
      }
      if (started) {
        throw_error(
            LLMRT_FAILED,
            "the response from " + url + " ended early (the connection closed before its end)",
            key);
      }
      throw_error(LLMRT_UNAVAILABLE,
                  "the connection to " + base.text + " closed before an answer arrived", key);
    case httplib::Error::Write:
      throw_error(LLMRT_UNAVAILABLE, "could not send the request to " + url, key);
    case httplib::Error::SSLConnection:
      throw_error(LLMRT_UNAVAILABLE, "the TLS connection to " + base.text + " failed", key);
    case httplib::Error::SSLServerVerification:
      throw_error(LLMRT_FAILED,
                  "the TLS certificate of " + base.text +
                      " could not be verified (trusted CAs: SSL_CERT_FILE, SSL_CERT_DIR, or the "
                      "model's ca_file)",
                  key);
    case httplib::Error::SSLLoadingCerts:
      throw_error(LLMRT_FAILED,
                  request.endpoint.ca_file.empty()
                      ? std::string("the system's CA certificates could not be loaded")
                      : "the CA file '" + request.endpoint.ca_file + "' could not be loaded",
                  key);
    default:
      throw_error(LLMRT_FAILED,
                  "the request to " + url + " failed: " + httplib::to_string(end.error), key);
  }
}

HttpRequest model_request(const ModelConfig& model, std::string_view api_path,
                          const ProviderCall& call) {
  HttpRequest request;
  request.endpoint.base = model.base;
  request.endpoint.proxy = proxy_from_environment(model.base);
  request.endpoint.ca_file = model.ca_file;
  request.endpoint.max_connections = model.max_connections;
  request.path = model.base.path_prefix + std::string(api_path);
  request.connect_timeout = call.connect_timeout;
  request.read_timeout = call.read_timeout;
  request.max_retries = call.max_retries;
  request.key = call.key;
  request.body = call.body;
  request.stream = call.stream;
  for (const auto& [name, value] : model.headers) request.headers.emplace(name, value);
  return request;
}

void perform(HttpRequest& request,
             const std::function<std::unique_ptr<AttemptReader>()>& make_reader, sdk::Output& out) {
  httplib::Request http;
  http.method = "POST";
  http.path = request.path;
  http.headers = std::move(request.headers);
  request.headers.clear();
  HeaderWiper wiper(http.headers, request.secret_headers);
  http.body = request.body;

  const int attempts = 1 + std::max(0, request.max_retries);
  std::vector<std::string> earlier;  // what the failed attempts got
  for (int attempt = 1;; ++attempt) {
    if (out.stop_requested()) return;
    std::unique_ptr<AttemptReader> reader = make_reader();
    const AttemptResult result = run_attempt(request, http, *reader, out);
    if (result.cancelled) return;
    try {
      reader->finish(result.end);
      reader->report_usage();
      return;
    } catch (const sdk::Error& error) {
      const bool retry =
          attempt < attempts && !reader->delivered() && !out.stop_requested() &&
          (retryable_status(result.status) ||
           (!retryable_status(result.status) && (result.status == 0 || result.status < 300) &&
            retryable_transport(result.end.error)));
      if (!retry) {
        if (attempt == 1) throw;
        std::string message =
            "failed after " + std::to_string(attempt) + " attempts: " + error.what() + " (earlier:";
        for (std::size_t i = 0; i < earlier.size(); ++i) {
          message += " attempt " + std::to_string(i + 1) + ": " + earlier[i] + ";";
        }
        message.back() = ')';
        throw_error(error.status(), message, request.key);
      }
      earlier.push_back(error.what());
      const milliseconds delay = result.requested_delay.value_or(backoff(attempt - 1));
      if (!pause(delay, out)) return;
    }
  }
}

}  // namespace llmrt::provider
