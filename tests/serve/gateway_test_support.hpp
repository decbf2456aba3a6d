// Helpers for the gateway tests: a Gateway served on an ephemeral loopback port for the length of a
// test (ServedGateway), OpenAI request bodies, replies, and the parsing of SSE streams and error
// bodies.
#ifndef LLMRT_TESTS_SERVE_GATEWAY_TEST_SUPPORT_HPP
#define LLMRT_TESTS_SERVE_GATEWAY_TEST_SUPPORT_HPP

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <llmrt/key.hpp>
#include <llmrt/runtime.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway.hpp"
#include "test_support.hpp"

namespace llmrt::test::serve_test {

namespace json = boost::json;

inline const std::filesystem::path kServePluginDir = LLMRT_SERVE_TEST_PLUGIN_DIR;
inline constexpr const char* kChatPath = "/v1/chat/completions";

// Under ThreadSanitizer everything runs several times slower: wait longer, never differently.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

inline std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char byte : random) {
    text += kHex[byte >> 4];
    text += kHex[byte & 0x0F];
  }
  return text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What echo answers for `prompt` when `key` reached it.
inline std::string echo_reply(std::string_view prompt, std::string_view key) {
  return std::string(prompt) + "\nkey-sha256: " + sha256_prefix(key);
}

// A Gateway over a fresh Runtime (bundled plugins, the test plugins throwing, key_leak and
// needs_key, and slow), serving on 127.0.0.1:<any port> in a thread of its own until destroyed.
// Its access log goes to a file (access_log_text()); slow's events to another (slow_events()).
class ServedGateway {
 public:
  using Tweak = std::function<void(serve::GatewayConfig&)>;

  explicit ServedGateway(const Tweak& tweak = {})
      : events_path_(prepare_events_file(temp_.path())), runtime_(runtime_config()) {
    log_path_ = temp_.path() / "access.log";
    log_ = std::fopen(log_path_.c_str(), "w");
    if (log_ == nullptr) throw std::runtime_error("cannot open the access log file");
    serve::GatewayConfig config;
    config.port = 0;
    config.access_log = log_;
    config.body_timeout = std::chrono::seconds(10);
    config.write_timeout = std::chrono::seconds(10);
    if (tweak) tweak(config);
    gateway_ = std::make_unique<serve::Gateway>(runtime_, config);
    port_ = gateway_->bind();
    thread_ = std::thread([this] { gateway_->serve(); });
    wait_until_healthy();
  }

  ~ServedGateway() {
    gateway_->stop();
    thread_.join();
    gateway_.reset();
    std::fclose(log_);
  }

  ServedGateway(const ServedGateway&) = delete;
  ServedGateway& operator=(const ServedGateway&) = delete;

  int port() const { return port_; }
  const Runtime& runtime() const { return runtime_; }
  const std::filesystem::path& temp() const { return temp_.path(); }

  // A client of this gateway with bounded timeouts (no keep-alive unless the test asks).
  std::unique_ptr<httplib::Client> client() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_connection_timeout(std::chrono::seconds(5));
    client->set_read_timeout(std::chrono::seconds(kThreadSanitizer ? 60 : 20));
    client->set_write_timeout(std::chrono::seconds(10));
    // Without it, Nagle holds the body of a POST (written after its headers) for the server's
    // delayed ACK: ~40 ms per request.
    client->set_tcp_nodelay(true);
    return client;
  }

  std::string access_log_text() const { return read_file(log_path_); }

  // The access log once it has at least `lines` lines for requests other than GET /healthz (or
  // after a few seconds). A chat request's line is written before its answer goes out, but one
  // whose client left is written when its call stops, which can be after the client has gone.
  std::string access_log_with(std::size_t lines) const {
    std::string text;
    auto count = [&] {
      text = access_log_text();
      std::size_t counted = 0;
      for (const std::string& line : lines_of(text)) {
        if (line.find(" /healthz ") == std::string::npos) ++counted;
      }
      return counted;
    };
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(kThreadSanitizer ? 20 : 5);
    while (count() < lines && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return text;
  }
  std::string slow_events() const { return read_file(events_path_); }

 private:
  // The slow plugin reads $LLMRT_SLOW_EVENTS at each call. Set here, before the Runtime (and so any
  // of its threads) exists.
  static std::filesystem::path prepare_events_file(const std::filesystem::path& dir) {
    const std::filesystem::path path = dir / "slow-events.txt";
    ::setenv("LLMRT_SLOW_EVENTS", path.c_str(), 1);
    return path;
  }

  RuntimeConfig runtime_config() const {
    RuntimeConfig config = isolated_config(temp_.path() / "user", environment_);
    for (const char* plugin : {"throwing.so", "key_leak.so", "needs_key.so"}) {
      config.plugin_paths.push_back(kTestPluginDir / plugin);
    }
    config.plugin_paths.push_back(kServePluginDir / "slow.so");
    config.plugin_paths.push_back(kServePluginDir / "flood.so");
    return config;
  }

  void wait_until_healthy() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto probe = client();
      if (auto reply = probe->Get("/healthz"); reply && reply->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the gateway did not answer GET /healthz within 10 s";
  }

  TempDir temp_;
  FakeEnvironment environment_;
  std::filesystem::path events_path_;
  Runtime runtime_;
  std::filesystem::path log_path_;
  std::FILE* log_ = nullptr;
  std::unique_ptr<serve::Gateway> gateway_;
  int port_ = -1;
  std::thread thread_;
};

// One HTTP exchange as the client saw it. status 0: no HTTP reply (see transport_error).
struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  std::string transport_error;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
};

inline Reply to_reply(const httplib::Result& result) {
  Reply reply;
  if (!result) {
    reply.transport_error = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  reply.headers = result->headers;
  return reply;
}

inline std::ostream& operator<<(std::ostream& out, const Reply& reply) {
  if (reply.status == 0) return out << "[no reply: " << reply.transport_error << "]";
  return out << "[" << reply.status << " " << reply.body.substr(0, 600) << "]";
}

inline httplib::Headers bearer(std::string_view key) {
  return {{"Authorization", "Bearer " + std::string(key)}};
}

inline std::string chat_body(std::string_view model, std::string_view prompt, bool stream,
                             const json::object& extra = {}) {
  json::object body{{"model", model},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}},
                    {"stream", stream}};
  for (const auto& [name, value] : extra) body[name] = value;
  return json::serialize(body);
}

inline Reply post_chat(httplib::Client& client, const std::string& body,
                       const httplib::Headers& headers = {}) {
  return to_reply(client.Post(kChatPath, headers, body, "application/json"));
}

// A streaming POST whose body arrives through `on_data`; returning false from it drops the
// connection. The reply's body holds what was received.
inline Reply post_chat_streaming(httplib::Client& client, const std::string& body,
                                 const httplib::Headers& headers,
                                 const std::function<bool(const std::string& so_far)>& on_data) {
  httplib::Request request;
  request.method = "POST";
  request.path = kChatPath;
  request.headers = headers;
  request.set_header("Content-Type", "application/json");
  request.body = body;
  Reply reply;
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    reply.body.append(data, size);
    return on_data(reply.body);
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool ok = client.send(request, response, error);
  reply.status = response.status > 0 ? response.status : 0;
  reply.headers = response.headers;
  if (!ok) reply.transport_error = httplib::to_string(error);
  return reply;
}

// The content of a non-streaming chat.completion body; adds a failure and returns "" if the body
// does not have that shape.
inline std::string completion_content(const std::string& body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << body;
    return {};
  }
  const json::object& root = parsed.as_object();
  const json::value* object = root.if_contains("object");
  EXPECT_TRUE(object && object->is_string() && object->as_string() == "chat.completion") << body;
  const json::value* choices = root.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().size() != 1 ||
      !choices->as_array()[0].is_object()) {
    ADD_FAILURE() << "no choices[0]: " << body;
    return {};
  }
  const json::object& choice = choices->as_array()[0].as_object();
  const json::value* finish = choice.if_contains("finish_reason");
  EXPECT_TRUE(finish && finish->is_string() && finish->as_string() == "stop") << body;
  const json::value* message = choice.if_contains("message");
  if (message == nullptr || !message->is_object()) {
    ADD_FAILURE() << "no choices[0].message: " << body;
    return {};
  }
  const json::value* role = message->as_object().if_contains("role");
  EXPECT_TRUE(role && role->is_string() && role->as_string() == "assistant") << body;
  const json::value* content = message->as_object().if_contains("content");
  if (content == nullptr || !content->is_string()) {
    ADD_FAILURE() << "choices[0].message.content is not a string: " << body;
    return {};
  }
  return std::string(content->as_string());
}

// A parsed SSE body of chat.completion.chunk events.
struct SseStream {
  std::vector<json::object> chunks;  // every "data: {...}" event before [DONE]
  std::string content;               // the deltas' contents, concatenated
  bool first_delta_has_role = false;
  bool ends_with_done = false;        // the last event is "data: [DONE]" and nothing follows it
  std::vector<std::string> comments;  // ": ..." lines, eg: ": llmrt-warning: ..."
  std::vector<std::string> problems;
};

inline SseStream parse_sse(const std::string& body) {
  SseStream stream;
  std::size_t start = 0;
  bool done_seen = false;
  while (start < body.size()) {
    std::size_t end = body.find("\n\n", start);
    if (end == std::string::npos) {
      stream.problems.push_back("unterminated event: " + body.substr(start, 200));
      break;
    }
    const std::string event = body.substr(start, end - start);
    start = end + 2;
    if (done_seen) stream.problems.push_back("event after [DONE]: " + event.substr(0, 200));
    if (event.rfind(":", 0) == 0) {  // a comment (the gateway's late warnings)
      stream.comments.push_back(event);
      continue;
    }
    if (event.rfind("data: ", 0) != 0) {
      stream.problems.push_back("event without 'data: ': " + event.substr(0, 200));
      continue;
    }
    const std::string data = event.substr(6);
    if (data == "[DONE]") {
      done_seen = true;
      continue;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(data, ec);
    if (ec || !parsed.is_object()) {
      stream.problems.push_back("event data is not a JSON object: " + data.substr(0, 200));
      continue;
    }
    json::object chunk = std::move(parsed.as_object());
    const json::value* object = chunk.if_contains("object");
    if (!(object && object->is_string() && object->as_string() == "chat.completion.chunk")) {
      stream.problems.push_back("not a chat.completion.chunk: " + data.substr(0, 200));
    }
    const json::value* choices = chunk.if_contains("choices");
    if (choices && choices->is_array() && !choices->as_array().empty() &&
        choices->as_array()[0].is_object()) {
      const json::value* delta = choices->as_array()[0].as_object().if_contains("delta");
      if (delta && delta->is_object()) {
        const json::object& fields = delta->as_object();
        if (stream.chunks.empty()) {
          const json::value* role = fields.if_contains("role");
          stream.first_delta_has_role =
              role && role->is_string() && role->as_string() == "assistant";
        }
        if (const json::value* content = fields.if_contains("content");
            content && content->is_string()) {
          stream.content += content->as_string();
        }
      } else {
        stream.problems.push_back("choices[0].delta is not an object: " + data.substr(0, 200));
      }
    } else if (!(choices && choices->is_array() && choices->as_array().empty() &&
                 chunk.contains("usage"))) {  // OpenAI's usage chunk has "choices": []
      stream.problems.push_back("no choices[0]: " + data.substr(0, 200));
    }
    stream.chunks.push_back(std::move(chunk));
  }
  stream.ends_with_done =
      done_seen && body.size() >= 14 && body.compare(body.size() - 14, 14, "data: [DONE]\n\n") == 0;
  return stream;
}

// The text a chat reply carries, streamed or not. Adds a failure if the reply is not a 200 of the
// right shape.
inline std::string reply_text(const Reply& reply, bool stream) {
  if (reply.status != 200) {
    ADD_FAILURE() << "expected 200, got " << reply;
    return {};
  }
  if (!stream) return completion_content(reply.body);
  const SseStream sse = parse_sse(reply.body);
  EXPECT_TRUE(sse.problems.empty()) << sse.problems.front();
  EXPECT_TRUE(sse.ends_with_done) << reply.body.substr(
      reply.body.size() > 300 ? reply.body.size() - 300 : 0);
  return sse.content;
}

// The "error" object of an OpenAI error body, after checking the shape: exactly message (a
// non-empty string), type (a string), param and code (each a string or null). Adds a failure and
// returns an empty object otherwise.
inline json::object error_of(const Reply& reply) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(reply.body, ec);
  if (ec || !parsed.is_object() || parsed.as_object().size() != 1 ||
      !parsed.as_object().contains("error") || !parsed.as_object().at("error").is_object()) {
    ADD_FAILURE() << "not an OpenAI error body: " << reply;
    return {};
  }
  const json::object& error = parsed.as_object().at("error").as_object();
  const json::value* message = error.if_contains("message");
  const json::value* type = error.if_contains("type");
  const json::value* param = error.if_contains("param");
  const json::value* code = error.if_contains("code");
  const bool ok = error.size() == 4 && message && message->is_string() &&
                  !message->as_string().empty() && type && type->is_string() && param &&
                  (param->is_string() || param->is_null()) && code &&
                  (code->is_string() || code->is_null());
  if (!ok) {
    ADD_FAILURE() << "error object without message/type/param/code: " << reply;
    return {};
  }
  return error;
}

inline std::string field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) return "<absent>";
  if (value->is_null()) return "<null>";
  if (value->is_string()) return std::string(value->as_string());
  return json::serialize(*value);
}

// A good request right after a bad one: the gateway must still answer it exactly.
inline void expect_still_serving(const ServedGateway& gateway) {
  const std::string key = "sk-after-" + random_hex(8);
  const std::string prompt = "still serving " + random_hex(4);
  auto client = gateway.client();
  const Reply reply = post_chat(*client, chat_body("echo", prompt, false), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(completion_content(reply.body), echo_reply(prompt, key));
}

// Polls `condition` every 10 ms until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace llmrt::test::serve_test

#endif  // LLMRT_TESTS_SERVE_GATEWAY_TEST_SUPPORT_HPP
