#include "fake_openai_server.hpp"

#include "fake_chat_request.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace llmrt::test {

namespace json = boost::json;

namespace {

constexpr std::int64_t kCreated = 1700000000;

const char* const kBehaviours[] = {"split-bytes", "comments-crlf", "stall",      "drop",
                                   "cut-short",   "status-401",    "status-403", "status-404",
                                   "status-429",  "status-500",    "status-503", "invalid-json",
                                   "slow-stream"};

std::string error_body(int status, const FakeOpenAiRequest& request) {
  const std::string seen = request.authorization.value_or("(no Authorization header)");
  json::object error;
  error["message"] = "Fake error " + std::to_string(status) +
                     ". Incorrect API key provided: " + seen +
                     ". Another key we saw: " + std::string(kFakeLeakedKey) + ".";
  error["type"] = status == 429   ? "rate_limit_exceeded"
                  : status >= 500 ? "server_error"
                                  : "invalid_request_error";
  error["param"] = nullptr;
  error["code"] = status == 401 ? "invalid_api_key" : "fake_error";
  return json::serialize(json::object{{"error", std::move(error)}});
}

}  // namespace

struct FakeOpenAiServer::State {
  explicit State(FakeOpenAiServerOptions opts) : options(opts) {}

  FakeOpenAiServerOptions options;
  httplib::Server server;
  std::thread thread;
  int port = -1;
  std::atomic<int> listen_socket{-1};
  std::atomic<std::uint64_t> next_id{1};

  mutable std::mutex mutex;
  std::vector<FakeOpenAiRequest> requests;
  std::condition_variable stop_cv;
  bool stopping = false;

  // Sleeps for `duration` unless the server stops first. False when it is stopping.
  bool sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex);
    return !stop_cv.wait_for(lock, duration, [this] { return stopping; });
  }

  FakeOpenAiRequest record(const httplib::Request& http) {
    FakeOpenAiRequest request;
    request.method = http.method;
    request.path = http.path;
    if (http.has_header("Authorization")) {
      request.authorization = http.get_header_value("Authorization");
    }
    for (const auto& [name, value] : http.headers) request.headers[name] = value;
    request.body = http.body;
    ChatRequestFields fields = read_chat_request(http.body);
    request.model = std::move(fields.model);
    request.stream = fields.stream;
    request.user_message = std::move(fields.user_message);
    std::lock_guard lock(mutex);
    requests.push_back(request);
    return request;
  }

  std::string chunk(const std::string& id, const std::string& model, json::object delta,
                    bool finish) const {
    json::object choice{{"index", 0},
                        {"delta", std::move(delta)},
                        {"logprobs", nullptr},
                        {"finish_reason", finish ? json::value("stop") : json::value(nullptr)}};
    // "id" first: the comments-crlf behaviour splits the JSON after its first comma.
    json::object object;
    object["id"] = id;
    object["object"] = "chat.completion.chunk";
    object["created"] = kCreated;
    object["model"] = model;
    object["system_fingerprint"] = "fp_fake";
    object["choices"] = json::array{std::move(choice)};
    return json::serialize(object);
  }

  void chat(const httplib::Request& http, httplib::Response& response) {
    const FakeOpenAiRequest request = record(http);
    const std::string& behaviour = request.model;
    boost::system::error_code ec;
    const json::value parsed = json::parse(http.body, ec);
    if (ec || !parsed.is_object() || !parsed.as_object().contains("messages") ||
        request.model.empty()) {
      response.status = 400;
      response.set_content(
          R"({"error":{"message":"the body must be a JSON object with model and messages",)"
          R"("type":"invalid_request_error","param":null,"code":null}})",
          "application/json");
      return;
    }
    if (behaviour == "stall" && !sleep_for(options.stall_time)) return;
    if (behaviour.starts_with("status-")) {
      const int status = std::stoi(behaviour.substr(7));
      response.status = status;
      response.set_content(error_body(status, request), "application/json");
      return;
    }

    const std::string id = "chatcmpl-fake-" + std::to_string(next_id++);
    const std::string content = answer_for(request.user_message);
    if (!request.stream) {
      if (behaviour == "invalid-json") {
        response.set_content("<html><body>this is not JSON</body></html>", "application/json");
        return;
      }
      json::object message{{"role", "assistant"}, {"content", content}, {"refusal", nullptr}};
      json::object choice{{"index", 0},
                          {"message", std::move(message)},
                          {"logprobs", nullptr},
                          {"finish_reason", "stop"}};
      const auto words = static_cast<std::int64_t>(split_words(content).size());
      json::object completion{{"id", id},
                              {"object", "chat.completion"},
                              {"created", kCreated},
                              {"model", request.model},
                              {"system_fingerprint", "fp_fake"},
                              {"choices", json::array{std::move(choice)}},
                              {"usage", json::object{{"prompt_tokens", 10},
                                                     {"completion_tokens", words},
                                                     {"total_tokens", 10 + words}}}};
      const std::string body = json::serialize(completion);
      if (behaviour == "drop") {
        // Announce the whole length, send half of it, then close the connection.
        response.set_content_provider(
            body.size(), "application/json",
            [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
              if (offset == 0) sink.write(body.data(), body.size() / 2);
              return false;
            });
        return;
      }
      response.set_content(body, "application/json");
      return;
    }

    // Streaming: the events, each a complete "data: ...\n\n" (or its CRLF variant).
    std::vector<std::string> data;
    if (behaviour == "invalid-json") {
      data = {"this is not JSON", "[DONE]"};
    } else {
      data.push_back(chunk(id, request.model, {{"role", "assistant"}, {"content", ""}}, false));
      std::vector<std::string> words = split_words(content);
      if (behaviour == "drop") words.resize((words.size() + 1) / 2);
      for (const std::string& word : words) {
        data.push_back(chunk(id, request.model, {{"content", word}}, false));
      }
      if (behaviour != "cut-short" && behaviour != "drop") {
        data.push_back(chunk(id, request.model, {}, true));
        data.push_back("[DONE]");
      }
    }
    std::vector<std::string> events;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (behaviour == "comments-crlf") {
        std::string event = ": keep-alive\r\n\r\nid: " + std::to_string(i) + "\r\n";
        const std::size_t comma = data[i].find(',');
        if (comma == std::string::npos) {
          event += "data: " + data[i] + "\r\n";
        } else {
          event += "data: " + data[i].substr(0, comma + 1) +
                   "\r\ndata: " + data[i].substr(comma + 1) + "\r\n";
        }
        events.push_back(event + "\r\n");
      } else {
        events.push_back("data: " + data[i] + "\n\n");
      }
    }
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [this, events = std::move(events), behaviour](std::size_t, httplib::DataSink& sink) {
          for (std::size_t i = 0; i < events.size(); ++i) {
            const std::string& event = events[i];
            if (behaviour == "split-bytes") {
              for (const char& byte : event) {
                if (!sink.write(&byte, 1)) return false;
              }
            } else if (!sink.write(event.data(), event.size())) {
              return false;
            }
            if (behaviour == "slow-stream" && i + 1 < events.size() &&
                !sleep_for(options.slow_word_delay)) {
              return false;
            }
          }
          if (behaviour == "drop") return false;  // closes the connection mid-stream
          sink.done();
          return true;
        });
  }

  void models(httplib::Response& response) const {
    json::array data;
    data.push_back(json::object{
        {"id", "fake-model"}, {"object", "model"}, {"created", kCreated}, {"owned_by", "llmrt"}});
    for (const char* name : kBehaviours) {
      data.push_back(json::object{
          {"id", name}, {"object", "model"}, {"created", kCreated}, {"owned_by", "llmrt"}});
    }
    response.set_content(json::serialize(json::object{{"object", "list"}, {"data", data}}),
                         "application/json");
  }
};

FakeOpenAiServer::FakeOpenAiServer(FakeOpenAiServerOptions options)
    : state_(std::make_shared<State>(options)) {
  State& state = *state_;
  const std::size_t threads = options.threads;
  state.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  state.server.set_tcp_nodelay(true);
  state.server.set_keep_alive_max_count(100000);
  state.server.Get("/v1/models",
                   [&state](const httplib::Request& request, httplib::Response& response) {
                     state.record(request);
                     state.models(response);
                   });
  state.server.Post("/v1/chat/completions",
                    [&state](const httplib::Request& request, httplib::Response& response) {
                      state.chat(request, response);
                    });
  state.server.set_socket_options([&state](socket_t sock) {
    httplib::default_socket_options(sock);
    int expected = -1;
    state.listen_socket.compare_exchange_strong(expected, static_cast<int>(sock));
  });
  state.port = state.server.bind_to_any_port("127.0.0.1");
  if (state.port <= 0) throw std::runtime_error("FakeOpenAiServer: cannot bind to 127.0.0.1");
  // Debian's cpp-httplib listens with a backlog of 5: with more clients connecting at once, the
  // extra connections are dropped (and fail after ~1 s). Listening again raises the backlog.
  if (state.listen_socket >= 0) ::listen(state.listen_socket, SOMAXCONN);
  state.thread = std::thread([&state] { state.server.listen_after_bind(); });
  // stop() does nothing before the accept loop runs: wait for it, so that the destructor works.
  while (!state.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeOpenAiServer::~FakeOpenAiServer() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->stop_cv.notify_all();
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int FakeOpenAiServer::port() const {
  return state_->port;
}

std::string FakeOpenAiServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(state_->port) + "/v1";
}

std::vector<FakeOpenAiRequest> FakeOpenAiServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::size_t FakeOpenAiServer::request_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests.size();
}

void FakeOpenAiServer::clear_requests() {
  std::lock_guard lock(state_->mutex);
  state_->requests.clear();
}

std::string FakeOpenAiServer::answer_for(std::string_view user_message) {
  return "echo: " + std::string(user_message);
}

}  // namespace llmrt::test
