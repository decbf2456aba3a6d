#include "chat_client.hpp"

#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>

#include "error_text.hpp"
#include "sse_parser.hpp"

namespace llmrt::openai {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::size_t kMaxBody = 64u << 20;

std::string milliseconds_text(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

bool starts_with_nocase(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

// Why a connection to `base` fails. httplib only says "Connection" (its non-blocking connect leaves
// the reason in the socket it then closes), so one more connection attempt finds out; nothing is
// sent on it. Only used after httplib failed to connect.
std::string connect_failure_reason(const BaseUrl& base, std::chrono::milliseconds timeout) {
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

// Wipes the values of the headers that carry secrets (Authorization, and the session-token header
// if any) when it goes out of scope, whatever happens.
class HeaderWiper {
 public:
  HeaderWiper(httplib::Headers& headers, std::string_view token_header)
      : headers_(headers), token_header_(token_header) {}
  HeaderWiper(const HeaderWiper&) = delete;
  HeaderWiper& operator=(const HeaderWiper&) = delete;
  ~HeaderWiper() { wipe(); }

  void wipe() noexcept {
    wipe_values("Authorization");
    if (!token_header_.empty()) wipe_values(std::string(token_header_));
  }

 private:
  void wipe_values(const std::string& name) noexcept {
    const auto [begin, end] = headers_.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      if (!it->second.empty()) OPENSSL_cleanse(it->second.data(), it->second.size());
      it->second.clear();
    }
  }

  httplib::Headers& headers_;
  std::string_view token_header_;
};

const json::object* object_at(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

// choices[0] of a completion or a chunk, or nullptr.
const json::object* first_choice(const json::object& object) {
  const json::value* choices = object.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return nullptr;
  const json::value& first = choices->as_array().front();
  return first.is_object() ? &first.as_object() : nullptr;
}

std::string_view string_at(const json::object* object, std::string_view name) {
  if (object == nullptr) return {};
  const json::value* value = object->if_contains(name);
  return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                : std::string_view();
}

// The answer being received: fed by httplib's callbacks on the calling thread, then finished.
class ResponseReader {
 public:
  ResponseReader(const BaseUrl& base, const ChatCall& call, sdk::Output& out)
      : base_(base), call_(call), out_(out), url_(base.text + "/chat/completions") {}

  void started() { last_activity_ = Clock::now(); }

  bool on_response(const httplib::Response& response) {
    last_activity_ = Clock::now();
    status_ = response.status;
    sse_ = success() && call_.stream &&
           starts_with_nocase(response.get_header_value("Content-Type"), "text/event-stream");
    return true;
  }

  // Every exception is kept for later: nothing is thrown through httplib's frames.
  bool on_data(const char* data, std::size_t size) noexcept {
    last_activity_ = Clock::now();
    try {
      if (out_.stop_requested()) {
        cancelled_ = true;
        return false;
      }
      const std::string_view bytes(data, size);
      if (!success()) {
        body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, body_.size())));
        return true;
      }
      if (sse_) {
        // False once [DONE] arrived too: the answer is complete, whatever the server does next
        // (some proxies hold the connection open), so the transfer ends there.
        return !done_ && parser_.feed(bytes, [this](SseEvent& event) { return on_event(event); });
      }
      if (body_.size() + size > kMaxBody) {
        fail(LLMRT_FAILED, "the response from " + url_ + " is larger than 64 MiB");
      }
      body_.append(bytes);
      return true;
    } catch (...) {
      failure_ = std::current_exception();
      return false;
    }
  }

  // Sends the API's usage, if it gave one, once the whole answer has been written.
  void report_usage() {
    if (usage_ && !cancelled_ && !out_.stop_requested()) {
      out_.usage(usage_->input, usage_->output, usage_->details);
    }
  }

  void finish(bool sent, httplib::Error error) {
    if (failure_) std::rethrow_exception(failure_);
    if (cancelled_ || out_.stop_requested()) return;
    if (!sent) {
      if (status_ > 0 && !success()) throw_http_error(status_, url_, body_, model(), key());
      // A stream that got to its end is complete even if the connection then broke (or was
      // closed by us right after [DONE]).
      if (!(sse_ && (done_ || finished_))) transport_failure(error);
    }
    if (!success()) throw_http_error(status_, url_, body_, model(), key());
    if (sse_) {
      if (!done_) parser_.finish([this](SseEvent& event) { return on_event(event); });
      if (cancelled_) return;
      if (!done_ && !finished_) {
        fail(LLMRT_FAILED, "the stream from " + url_ +
                               " ended early (it closed before [DONE] or a finish_reason)");
      }
      return;
    }
    write_whole_answer();
  }

 private:
  bool success() const { return status_ >= 200 && status_ <= 299; }
  std::string_view key() const { return call_.key; }
  std::string_view model() const { return call_.upstream_model; }

  [[noreturn]] void fail(llmrt_status status, const std::string& message) const {
    throw_error(status, message, key());
  }

  // An {"error": ...} object in place of an answer.
  [[noreturn]] void provider_error(std::string_view text, std::string_view where) const {
    fail(LLMRT_FAILED, std::string(where) + " from " + url_ +
                           " reported an error: " + scrub(provider_message(text), key()));
  }

  bool on_event(SseEvent& event) {
    if (event.data == "[DONE]") {
      done_ = true;
      return false;  // nothing after it counts
    }
    boost::system::error_code ec;
    const json::value chunk = json::parse(event.data, ec);
    if (ec || !chunk.is_object()) {
      fail(LLMRT_FAILED, "the stream from " + url_ + " sent an event that is not a JSON object: " +
                             scrub(event.data.substr(0, 200), key()));
    }
    const json::object& object = chunk.as_object();
    if (object.contains("error")) provider_error(event.data, "the stream");
    note_usage(object);
    const json::object* choice = first_choice(object);
    if (choice == nullptr) return true;  // eg: a usage-only chunk
    const json::object* delta = object_at(*choice, "delta");
    for (const std::string_view text : {string_at(delta, "content"), string_at(delta, "refusal")}) {
      if (!text.empty() && !out_.write(text)) {
        cancelled_ = true;
        return false;
      }
    }
    if (const json::value* reason = choice->if_contains("finish_reason");
        reason != nullptr && !reason->is_null()) {
      finished_ = true;
    }
    return true;
  }

  void write_whole_answer() {
    boost::system::error_code ec;
    const json::value parsed = json::parse(body_, ec);
    if (ec || !parsed.is_object()) {
      fail(LLMRT_FAILED, "the response from " + url_ + " is not valid JSON: " +
                             scrub(provider_message(body_.substr(0, 200)), key()));
    }
    const json::object& object = parsed.as_object();
    if (object.contains("error")) provider_error(body_, "the response");
    note_usage(object);
    const json::object* choice = first_choice(object);
    const json::object* message = choice ? object_at(*choice, "message") : nullptr;
    if (message == nullptr) {
      fail(LLMRT_FAILED, "the response from " + url_ + " has no choices[0].message");
    }
    std::string_view text = string_at(message, "content");
    if (text.empty()) text = string_at(message, "refusal");
    if (!text.empty() && !out_.write(text)) cancelled_ = true;
  }

  [[noreturn]] void transport_failure(httplib::Error error) const {
    const auto idle =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_activity_);
    switch (error) {
      case httplib::Error::Connection:
        fail(LLMRT_UNAVAILABLE,
             "could not connect to " + base_.text + ": " +
                 connect_failure_reason(
                     base_, std::min(call_.connect_timeout, std::chrono::milliseconds(1000))));
      case httplib::Error::ConnectionTimeout:
        fail(LLMRT_UNAVAILABLE, "could not connect to " + base_.text + ": timed out after " +
                                    milliseconds_text(call_.connect_timeout) +
                                    " (option connect_timeout_ms)");
      case httplib::Error::Read:
        // httplib says "Read" both for a timeout and for a closed connection: the time since the
        // last bytes tells them apart.
        if (idle * 10 >= call_.read_timeout * 9) {
          fail(LLMRT_UNAVAILABLE, "no answer from " + url_ + ": timed out after " +
                                      milliseconds_text(call_.read_timeout) +
                                      " without data (option read_timeout_ms)");
        }
        if (sse_) {
          fail(LLMRT_FAILED,
               "the stream from " + url_ + " ended early (the connection closed before [DONE])");
        }
        if (status_ > 0) {
          fail(LLMRT_FAILED,
               "the response from " + url_ + " ended early (the connection closed before its end)");
        }
        fail(LLMRT_UNAVAILABLE,
             "the connection to " + base_.text + " closed before an answer arrived");
      case httplib::Error::Write:
        fail(LLMRT_UNAVAILABLE, "could not send the request to " + url_);
      case httplib::Error::SSLConnection:
        fail(LLMRT_UNAVAILABLE, "the TLS connection to " + base_.text + " failed");
      case httplib::Error::SSLServerVerification:
        fail(LLMRT_FAILED, "the TLS certificate of " + base_.text + " could not be verified");
      case httplib::Error::SSLLoadingCerts:
        fail(LLMRT_FAILED, "the system's CA certificates could not be loaded");
      default:
        fail(LLMRT_FAILED, "the request to " + url_ + " failed: " + httplib::to_string(error));
    }
  }

  // {"usage": {"prompt_tokens", "completion_tokens", ...}} in a completion or a stream's last
  // chunk.
  void note_usage(const json::object& object) {
    const json::object* usage = object_at(object, "usage");
    if (usage == nullptr) return;
    const auto count = [usage](std::string_view name) -> std::int64_t {
      const json::value* value = usage->if_contains(name);
      return value != nullptr && value->is_int64() && value->as_int64() >= 0 ? value->as_int64()
                                                                             : -1;
    };
    usage_ = Usage{count("prompt_tokens"), count("completion_tokens"), json::serialize(*usage)};
  }

  struct Usage {
    std::int64_t input = -1;
    std::int64_t output = -1;
    std::string details;  // the API's whole usage object
  };

  const BaseUrl& base_;
  const ChatCall& call_;
  sdk::Output& out_;
  const std::string url_;
  Clock::time_point last_activity_ = Clock::now();
  int status_ = 0;
  bool sse_ = false;
  bool done_ = false;      // data: [DONE] arrived
  bool finished_ = false;  // a chunk had a finish_reason
  bool cancelled_ = false;
  std::string body_;  // the whole answer (not streamed) or an error body
  SseParser parser_;
  std::exception_ptr failure_;
  std::optional<Usage> usage_;
};

}  // namespace

void send_chat(const BaseUrl& base, const ChatCall& call, sdk::Output& out) {
  if (out.stop_requested()) return;

  httplib::Client client(base.origin);
  client.set_connection_timeout(call.connect_timeout);
  client.set_read_timeout(call.read_timeout);
  client.set_write_timeout(call.read_timeout);
  client.set_keep_alive(false);
  client.set_tcp_nodelay(true);
  client.set_follow_location(false);
  client.enable_server_certificate_verification(true);

  httplib::Request request;
  request.method = "POST";
  request.path = base.path_prefix + "/chat/completions";
  request.headers.emplace("Content-Type", "application/json");
  request.headers.emplace("Accept", call.stream ? "text/event-stream" : "application/json");
  request.headers.emplace("User-Agent", "llmrt-openai/1.0");
  request.body = call.body;
  HeaderWiper wiper(request.headers, call.session_token_header);
  if (!call.key.empty()) {
    // Built in place, at its final size: no other copy of the key is made here.
    auto header = request.headers.emplace("Authorization", std::string());
    header->second.reserve(7 + call.key.size());
    header->second.append("Bearer ").append(call.key);
  }
  if (!call.session_token.empty() && !call.session_token_header.empty()) {
    auto header = request.headers.emplace(std::string(call.session_token_header), std::string());
    header->second.assign(call.session_token);
  }

  ResponseReader reader(base, call, out);
  request.response_handler = [&reader](const httplib::Response& response) {
    return reader.on_response(response);
  };
  request.content_receiver = [&reader](const char* data, std::size_t size, std::uint64_t,
                                       std::uint64_t) { return reader.on_data(data, size); };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  reader.started();
  const bool sent = client.send(request, response, error);
  wiper.wipe();
  reader.finish(sent, error);
  reader.report_usage();
}

}  // namespace llmrt::openai
