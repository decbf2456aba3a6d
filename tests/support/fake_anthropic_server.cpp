#include "fake_anthropic_server.hpp"

#include "fake_chat_request.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace llmrt::test {

namespace json = boost::json;

namespace {

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return text;
}

std::string error_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

std::string error_body(int status, const std::string& message) {
  return json::serialize(
      json::object{{"type", "error"},
                   {"error", json::object{{"type", error_type(status)}, {"message", message}}}});
}

std::string event(const std::string& name, const json::object& data) {
  return "event: " + name + "\ndata: " + json::serialize(data) + "\n\n";
}

}  // namespace

struct FakeAnthropicServer::State {
  explicit State(FakeAnthropicServerOptions opts) : options(std::move(opts)) {}

  FakeAnthropicServerOptions options;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = -1;
  std::atomic<int> listen_socket{-1};
  std::atomic<std::uint64_t> next_id{1};

  mutable std::mutex mutex;
  std::vector<FakeAnthropicRequest> requests;
  std::set<std::string> failed_once;  // user messages that already got their flaky failure
  std::condition_variable stop_cv;
  bool stopping = false;

  bool sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex);
    return !stop_cv.wait_for(lock, duration, [this] { return stopping; });
  }

  FakeAnthropicRequest record(const httplib::Request& http) {
    FakeAnthropicRequest request;
    request.path = http.path;
    request.received = std::chrono::steady_clock::now();
    for (const auto& [name, value] : http.headers) request.headers[lowered(name)] = value;
    request.body = http.body;
    ChatRequestFields fields = read_chat_request(http.body);
    request.model = std::move(fields.model);
    request.stream = fields.stream;
    request.user_message = std::move(fields.user_message);
    std::lock_guard lock(mutex);
    requests.push_back(request);
    return request;
  }

  // True the first time a flaky behaviour sees this message.
  bool first_time(const std::string& message) {
    std::lock_guard lock(mutex);
    return failed_once.insert(message).second;
  }

  void fail(httplib::Response& response, int status, const FakeAnthropicRequest& request) {
    response.status = status;
    response.set_content(
        error_body(status, "Fake error " + std::to_string(status) +
                               ". Invalid x-api-key: " + request.header("x-api-key").value_or("") +
                               ". Another key we saw: " + std::string(kFakeLeakedAnthropicKey)),
        "application/json");
  }

  void messages(const httplib::Request& http, httplib::Response& response) {
    const FakeAnthropicRequest request = record(http);
    const std::string& behaviour = request.model;
    boost::system::error_code ec;
    const json::value parsed = json::parse(http.body, ec);
    const json::object* body = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
    std::string missing;
    if (!request.header("x-api-key")) missing = "x-api-key header is required";
    if (!request.header("anthropic-version")) missing = "anthropic-version: header is required";
    if (body == nullptr || !body->contains("max_tokens")) missing = "max_tokens: Field required";
    if (body == nullptr || !body->contains("messages")) missing = "messages: Field required";
    if (!missing.empty()) {
      response.status = missing.starts_with("x-api-key") ? 401 : 400;
      response.set_content(error_body(response.status, missing), "application/json");
      return;
    }
    if (behaviour == "stall" && !sleep_for(options.stall_time)) return;
    if (behaviour.starts_with("status-"))
      return fail(response, std::stoi(behaviour.substr(7)), request);
    if (behaviour == "flaky-503" && first_time(request.user_message)) {
      return fail(response, 503, request);
    }
    if (behaviour == "flaky-429" && first_time(request.user_message)) {
      response.set_header("retry-after", "1");
      return fail(response, 429, request);
    }

    const std::string id = "msg_fake" + std::to_string(next_id++);
    const std::string text = answer_for(request.user_message);
    const auto words = split_words(text);
    const auto output_tokens = static_cast<std::int64_t>(words.size());
    if (!request.stream) {
      json::object message{
          {"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", request.model},
          {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
          {"stop_reason", "end_turn"},
          {"stop_sequence", nullptr},
          {"usage", json::object{{"input_tokens", 12}, {"output_tokens", output_tokens}}}};
      response.set_content(json::serialize(message), "application/json");
      return;
    }

    std::vector<std::string> events;
    events.push_back(
        event("message_start",
              {{"type", "message_start"},
               {"message", json::object{{"id", id},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"model", request.model},
                                        {"content", json::array{}},
                                        {"stop_reason", nullptr},
                                        {"stop_sequence", nullptr},
                                        {"usage", json::object{{"input_tokens", 12},
                                                               {"cache_creation_input_tokens", 0},
                                                               {"cache_read_input_tokens", 0},
                                                               {"output_tokens", 1}}}}}}));
    if (behaviour == "error-event") {
      events.push_back(event("error", {{"type", "error"},
                                       {"error", json::object{{"type", "overloaded_error"},
                                                              {"message", "Overloaded"}}}}));
    } else {
      events.push_back(event("content_block_start",
                             {{"type", "content_block_start"},
                              {"index", 0},
                              {"content_block", json::object{{"type", "text"}, {"text", ""}}}}));
      events.push_back(event("ping", {{"type", "ping"}}));
      for (const std::string& word : words) {
        events.push_back(event("content_block_delta",
                               {{"type", "content_block_delta"},
                                {"index", 0},
                                {"delta", json::object{{"type", "text_delta"}, {"text", word}}}}));
      }
      events.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
      events.push_back(
          event("message_delta",
                {{"type", "message_delta"},
                 {"delta", json::object{{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                 {"usage", json::object{{"output_tokens", output_tokens}}}}));
      events.push_back(event("message_stop", {{"type", "message_stop"}}));
    }
    if (behaviour == "drop-after-first") events.resize(std::min<std::size_t>(events.size(), 4));
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [events = std::move(events), behaviour](std::size_t, httplib::DataSink& sink) {
          for (const std::string& text : events) {
            if (behaviour == "split-bytes") {
              for (const char& byte : text) {
                if (!sink.write(&byte, 1)) return false;
              }
            } else if (!sink.write(text.data(), text.size())) {
              return false;
            }
          }
          if (behaviour == "drop-after-first") return false;  // closes the connection
          sink.done();
          return true;
        });
  }
};

FakeAnthropicServer::FakeAnthropicServer(FakeAnthropicServerOptions options)
    : state_(std::make_shared<State>(std::move(options))) {
  State& state = *state_;
  if (!state.options.cert_file.empty()) {
    state.server = std::make_unique<httplib::SSLServer>(state.options.cert_file.c_str(),
                                                        state.options.key_file.c_str());
  } else {
    state.server = std::make_unique<httplib::Server>();
  }
  if (!state.server->is_valid()) throw std::runtime_error("FakeAnthropicServer: bad certificate");
  const std::size_t threads = state.options.threads;
  state.server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  state.server->set_tcp_nodelay(true);
  state.server->set_keep_alive_max_count(100000);
  state.server->Post("/v1/messages",
                     [&state](const httplib::Request& request, httplib::Response& response) {
                       state.messages(request, response);
                     });
  state.server->set_socket_options([&state](socket_t sock) {
    httplib::default_socket_options(sock);
    int expected = -1;
    state.listen_socket.compare_exchange_strong(expected, static_cast<int>(sock));
  });
  state.port = state.server->bind_to_any_port("127.0.0.1");
  if (state.port <= 0) throw std::runtime_error("FakeAnthropicServer: cannot bind to 127.0.0.1");
  if (state.listen_socket >= 0) ::listen(state.listen_socket, SOMAXCONN);  // Debian's backlog is 5
  state.thread = std::thread([&state] { state.server->listen_after_bind(); });
  while (!state.server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeAnthropicServer::~FakeAnthropicServer() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->stop_cv.notify_all();
  state_->server->stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int FakeAnthropicServer::port() const {
  return state_->port;
}

std::string FakeAnthropicServer::base_url() const {
  return std::string(state_->options.cert_file.empty() ? "http" : "https") +
         "://127.0.0.1:" + std::to_string(state_->port);
}

std::vector<FakeAnthropicRequest> FakeAnthropicServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::vector<FakeAnthropicRequest> FakeAnthropicServer::requests_for(
    std::string_view user_message) const {
  std::vector<FakeAnthropicRequest> found;
  for (FakeAnthropicRequest& request : requests()) {
    if (request.user_message == user_message) found.push_back(std::move(request));
  }
  return found;
}

}  // namespace llmrt::test
