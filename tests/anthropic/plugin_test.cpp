// The anthropic plugin through llmrt::Runtime, against the fake Messages API on 127.0.0.1: the
// wire format (headers and body as Anthropic documents them), whole and streamed answers, errors,
// usage, conversations, per-call keys under load, connection reuse, retries and cancellation.
//
// The plugin reads its model list once per process, so the tests share one fake server, the
// relays in front of it, and one anthropic-models.json pointing a model at each behaviour. Every
// test tells its requests apart by its own prompts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <llmrt/llmrt.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "fake_anthropic_server.hpp"
#include "tcp_relay.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

const char* const kBehaviours[] = {"split-bytes", "status-400", "status-401",       "status-403",
                                   "status-404",  "status-429", "status-500",       "status-529",
                                   "flaky-503",   "flaky-429",  "drop-after-first", "error-event",
                                   "stall"};

constexpr std::size_t kSmallPool = 4;

struct Upstream {
  FakeAnthropicServer server;
  TcpRelay counted{TcpRelay::forward_to(server.port())};     // counts claude-fake's connections
  TcpRelay small_pool{TcpRelay::forward_to(server.port())};  // claude-pool4's
  TcpRelay drop_first{TcpRelay::forward_to(server.port(), 1)};
  TempDir user;

  Upstream() {
    const auto at = [](int port) { return "http://127.0.0.1:" + std::to_string(port); };
    json::array models;
    models.push_back({{"id", "claude-fake"},
                      {"model", "fake-model"},
                      {"api_base", at(counted.port())},
                      {"needs_key", true}});
    models.push_back({{"id", "claude-pool4"},
                      {"model", "fake-model"},
                      {"api_base", at(small_pool.port())},
                      {"max_connections", kSmallPool}});
    models.push_back({{"id", "claude-drop-first"},
                      {"model", "fake-model"},
                      {"api_base", at(drop_first.port())}});
    models.push_back({{"id", "claude-headers"},
                      {"model", "fake-model"},
                      {"api_base", server.base_url()},
                      {"headers", {{"anthropic-beta", "prompt-caching-2024-07-31"}}}});
    for (const char* behaviour : kBehaviours) {
      models.push_back({{"id", std::string("claude-") + behaviour},
                        {"model", behaviour},
                        {"api_base", server.base_url()}});
    }
    models.push_back({{"id", "claude-closed"}, {"api_base", at(closed_port())}});
    std::ofstream(user.path() / "anthropic-models.json") << json::serialize(models);
  }
};

Upstream& upstream() {
  static Upstream shared;
  return shared;
}

// Every secret a test used: nothing a program printed may contain one.
void expect_no_secret(const std::string& output, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    EXPECT_EQ(output.find(secret), std::string::npos) << "a key leaked into: " << output;
  }
  EXPECT_EQ(output.find(kFakeLeakedAnthropicKey), std::string::npos) << output;
  EXPECT_EQ(output.find("leakedKEY"), std::string::npos) << output;
}

class AnthropicPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream();
    RuntimeConfig config = isolated_config(upstream().user.path(), environment_);
    config.async_threads = 4;
    runtime_ = std::make_unique<Runtime>(std::move(config));
    for (const LoadError& error : runtime_->load_errors()) {
      if (error.path.find("anthropic") != std::string::npos) ADD_FAILURE() << error.message;
    }
  }

  Model model(std::string_view id) const { return runtime_->get_model(id); }

  Error prompt_error(std::string_view id, const std::string& text, PromptOptions options) {
    try {
      const Response response = model(id).prompt(text, std::move(options));
      ADD_FAILURE() << id << " answered: " << response.text;
    } catch (const Error& error) {
      return error;
    }
    return Error(ErrorCode::usage, "none");
  }

  FakeEnvironment environment_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(AnthropicPlugin, RequestHasTheDocumentedHeadersAndBody) {
  const std::string key = "sk-ant-test-wire-0001";
  for (const bool stream : {false, true}) {
    const std::string text = std::string("wire format ") + (stream ? "streamed" : "whole");
    const Response response =
        model("claude-fake")
            .prompt(text, {.key = Key(key),
                           .options_json = R"({"temperature":0.5,"stop":["END"],"top_k":5})",
                           .system = "Answer in French.",
                           .stream = stream});
    EXPECT_EQ(response.text, FakeAnthropicServer::answer_for(text));
    expect_no_secret(response.text, {key});

    const auto requests = upstream().server.requests_for(text);
    ASSERT_EQ(requests.size(), 1u);
    const FakeAnthropicRequest& request = requests[0];
    EXPECT_EQ(request.path, "/v1/messages");
    EXPECT_EQ(request.header("x-api-key"), key);
    EXPECT_FALSE(request.header("authorization").has_value()) << "the key went to Authorization";
    EXPECT_EQ(request.header("anthropic-version"), "2023-06-01");
    EXPECT_EQ(request.header("content-type"), "application/json");

    const json::object body = json::parse(request.body).as_object();
    EXPECT_EQ(body.at("model"), "fake-model");
    EXPECT_EQ(body.at("max_tokens"), 4096);             // required by the API: the default is sent
    EXPECT_EQ(body.at("system"), "Answer in French.");  // a top-level field, not a message
    EXPECT_EQ(body.at("messages"), json::parse(R"([{"role":"user","content":")" + text + R"("}])"));
    EXPECT_EQ(body.at("temperature"), 0.5);
    EXPECT_EQ(body.at("top_k"), 5);
    EXPECT_EQ(body.at("stop_sequences"), json::parse(R"(["END"])"));
    EXPECT_EQ(body.contains("stream"), stream);
    if (stream) EXPECT_EQ(body.at("stream"), true);
  }
}

TEST_F(AnthropicPlugin, ConversationHistoryBecomesMessages) {
  const std::string text = "and the third turn?";
  const Response response =
      model("claude-fake")
          .prompt(text, {.key = Key("sk-ant-test-history"),
                         .options_json = R"({"max_tokens":50})",
                         .system = "Be brief.",
                         .history = {{"user", "first"}, {"assistant", "second"}}});
  EXPECT_EQ(response.text, FakeAnthropicServer::answer_for(text));
  const auto requests = upstream().server.requests_for(text);
  ASSERT_EQ(requests.size(), 1u);
  const json::object body = json::parse(requests[0].body).as_object();
  EXPECT_EQ(body.at("system"), "Be brief.");
  EXPECT_EQ(body.at("max_tokens"), 50);
  EXPECT_EQ(body.at("messages"),
            json::parse(R"([{"role":"user","content":"first"},)"
                        R"({"role":"assistant","content":"second"},)"
                        R"({"role":"user","content":"and the third turn?"}])"));
}

TEST_F(AnthropicPlugin, StreamedChunksAndUsageFromMessageStartAndMessageDelta) {
  for (const char* id : {"claude-fake", "claude-split-bytes"}) {
    const std::string text = std::string("count my words ") + id;
    std::vector<std::string> chunks;
    const Response response = model(id).prompt(
        text,
        {.key = Key("sk-ant-test-stream"), .stream = true, .on_chunk = [&](std::string_view c) {
           chunks.emplace_back(c);
           return true;
         }});
    EXPECT_EQ(response.text, FakeAnthropicServer::answer_for(text)) << id;
    EXPECT_EQ(chunks.size(), 5u) << id;  // one text_delta per word: "echo: count my words X"
    ASSERT_TRUE(response.usage.has_value()) << id;
    EXPECT_EQ(response.usage->input_tokens, 12);  // message_start
    EXPECT_EQ(response.usage->output_tokens, 5);  // message_delta's cumulative count
    const json::object details = json::parse(response.usage->details_json).as_object();
    EXPECT_EQ(details.at("cache_read_input_tokens"), 0);
  }
  const Response whole =
      model("claude-fake")
          .prompt("usage of a whole answer", {.key = Key("sk-ant-test-whole"), .stream = false});
  ASSERT_TRUE(whole.usage.has_value());
  EXPECT_EQ(whole.usage->input_tokens, 12);
  EXPECT_EQ(whole.usage->output_tokens, 6);  // "echo: usage of a whole answer"
}

TEST_F(AnthropicPlugin, ExtraHeadersFromTheModelsFile) {
  model("claude-headers").prompt("with headers", {.key = Key("sk-ant-test-headers")});
  const auto requests = upstream().server.requests_for("with headers");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("anthropic-beta"), "prompt-caching-2024-07-31");
}

TEST_F(AnthropicPlugin, HttpErrorsMapToErrorCodesWithScrubbedMessages) {
  const struct {
    const char* id;
    ErrorCode code;
  } cases[] = {
      {"claude-status-400", ErrorCode::bad_request},
      {"claude-status-401", ErrorCode::key_rejected},
      {"claude-status-403", ErrorCode::key_rejected},
      {"claude-status-404", ErrorCode::bad_request},
      {"claude-status-429", ErrorCode::unavailable},
      {"claude-status-500", ErrorCode::unavailable},
      {"claude-status-529", ErrorCode::unavailable},
  };
  const std::string key = "sk-ant-api03-echoedBack-9c1e";
  for (const auto& c : cases) {
    for (const bool stream : {true, false}) {
      const std::string text = std::string("error ") + c.id + (stream ? " s" : " n");
      const Error error = prompt_error(
          c.id, text, {.key = Key(key), .options_json = R"({"max_retries":0})", .stream = stream});
      const std::string message = error.what();
      EXPECT_EQ(error.code(), c.code) << c.id << ": " << message;
      EXPECT_NE(message.find("HTTP " + std::string(c.id).substr(14)), std::string::npos) << message;
      EXPECT_NE(message.find("Fake error"), std::string::npos) << message;
      expect_no_secret(message, {key, "echoedBack"});
      // The upstream really did echo the key: the scrubbing is what kept it out.
      const auto requests = upstream().server.requests_for(text);
      ASSERT_EQ(requests.size(), 1u);
      EXPECT_EQ(requests[0].header("x-api-key"), key);
    }
  }
}

TEST_F(AnthropicPlugin, OverloadedAndServerErrorsAreRetriedThenUnavailable) {
  const std::string key = "sk-ant-test-529";
  const Error error = prompt_error("claude-status-529", "always overloaded", {.key = Key(key)});
  EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.what();
  const std::string message = error.what();
  EXPECT_NE(message.find("failed after 3 attempts: HTTP 529"), std::string::npos) << message;
  EXPECT_NE(message.find("attempt 1: HTTP 529"), std::string::npos) << message;
  expect_no_secret(message, {key});
  EXPECT_EQ(upstream().server.requests_for("always overloaded").size(), 3u);
}

TEST_F(AnthropicPlugin, MaxRetriesZeroMakesOneAttempt) {
  prompt_error("claude-status-500", "no retries please",
               {.key = Key("sk-ant-test-0"), .options_json = R"({"max_retries":0})"});
  EXPECT_EQ(upstream().server.requests_for("no retries please").size(), 1u);
}

TEST_F(AnthropicPlugin, ServiceUnavailableThenSuccessIsRetried) {
  for (const bool stream : {true, false}) {
    const std::string text = std::string("flaky 503 ") + (stream ? "s" : "n");
    const Response response =
        model("claude-flaky-503").prompt(text, {.key = Key("sk-ant-test-503"), .stream = stream});
    EXPECT_EQ(response.text, FakeAnthropicServer::answer_for(text));
    EXPECT_EQ(upstream().server.requests_for(text).size(), 2u);
  }
}

TEST_F(AnthropicPlugin, TooManyRequestsHonoursRetryAfter) {
  const Response response =
      model("claude-flaky-429").prompt("flaky 429", {.key = Key("sk-ant-test-429")});
  EXPECT_EQ(response.text, FakeAnthropicServer::answer_for("flaky 429"));
  const auto requests = upstream().server.requests_for("flaky 429");
  ASSERT_EQ(requests.size(), 2u);
  // "retry-after: 1": the second attempt came no sooner than the server asked (the default first
  // backoff is at most 0.5 s).
  EXPECT_GE(requests[1].received - requests[0].received, 950ms);
}

TEST_F(AnthropicPlugin, ConnectionDroppedBeforeAnyAnswerIsRetried) {
  const Response response =
      model("claude-drop-first").prompt("dropped once", {.key = Key("sk-ant-test-drop")});
  EXPECT_EQ(response.text, FakeAnthropicServer::answer_for("dropped once"));
  EXPECT_EQ(upstream().drop_first.connections(), 2u);  // the dropped one, then the one that worked
  EXPECT_EQ(upstream().server.requests_for("dropped once").size(), 1u);
}

TEST_F(AnthropicPlugin, ConnectionRefusedEveryTimeFailsAfterThreeAttempts) {
  const std::string key = "sk-ant-test-refused";
  const Error error = prompt_error("claude-closed", "nobody listens", {.key = Key(key)});
  EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.what();
  const std::string message = error.what();
  EXPECT_NE(message.find("failed after 3 attempts"), std::string::npos) << message;
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
  expect_no_secret(message, {key});
}

TEST_F(AnthropicPlugin, StreamThatBreaksAfterItsFirstByteIsNotRetried) {
  std::string received;
  const Error error = prompt_error(
      "claude-drop-after-first", "break after the first word",
      {.key = Key("sk-ant-test-break"), .stream = true, .on_chunk = [&](std::string_view chunk) {
         received += chunk;
         return true;
       }});
  EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
  EXPECT_NE(std::string(error.what()).find("ended early"), std::string::npos) << error.what();
  EXPECT_EQ(received, "echo: ");  // the first delta reached the caller ...
  EXPECT_EQ(upstream().server.requests_for("break after the first word").size(),
            1u);  // ... so once
}

TEST_F(AnthropicPlugin, ErrorEventInTheStreamIsAnError) {
  const std::string key = "sk-ant-test-event";
  const Error error = prompt_error("claude-error-event", "overloaded mid-stream",
                                   {.key = Key(key), .stream = true});
  EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.what();
  EXPECT_NE(std::string(error.what()).find("overloaded_error"), std::string::npos) << error.what();
  expect_no_secret(error.what(), {key});
}

// 16 tenants x 100 calls at once: each request carries exactly its own tenant's key in x-api-key
// and nothing in Authorization; the connections are reused (at most the pool's bound).
TEST_F(AnthropicPlugin, SixteenTenantsEachSendOnlyTheirOwnKeyOverAFewConnections) {
  constexpr int kTenants = 16;
  constexpr int kCalls = 100;
  const auto key_of = [](int tenant) { return "sk-ant-tenant-" + std::to_string(tenant) + "-k3y"; };
  const std::size_t counted_before = upstream().counted.connections();
  const std::size_t small_before = upstream().small_pool.connections();
  std::vector<std::string> outputs[kTenants];
  std::vector<std::thread> threads;
  for (int tenant = 0; tenant < kTenants; ++tenant) {
    threads.emplace_back([&, tenant] {
      for (int call = 0; call < kCalls; ++call) {
        const std::string text =
            "tenant " + std::to_string(tenant) + " call " + std::to_string(call);
        const char* id = call % 2 == 0 ? "claude-fake" : "claude-pool4";
        try {
          const Response response =
              model(id).prompt(text, {.key = Key(key_of(tenant)), .stream = call % 4 < 2});
          outputs[tenant].push_back(response.text == FakeAnthropicServer::answer_for(text)
                                        ? "ok"
                                        : "wrong answer: " + response.text);
        } catch (const Error& error) {
          outputs[tenant].push_back(std::string("error: ") + error.what());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<std::string> all_keys;
  for (int tenant = 0; tenant < kTenants; ++tenant) all_keys.push_back(key_of(tenant));
  for (int tenant = 0; tenant < kTenants; ++tenant) {
    ASSERT_EQ(outputs[tenant].size(), static_cast<std::size_t>(kCalls));
    for (const std::string& output : outputs[tenant]) {
      EXPECT_EQ(output, "ok");
      expect_no_secret(output, all_keys);
    }
  }
  std::size_t seen = 0;
  for (const FakeAnthropicRequest& request : upstream().server.requests()) {
    if (!request.user_message.starts_with("tenant ")) continue;
    ++seen;
    const int tenant = std::stoi(request.user_message.substr(7));
    EXPECT_EQ(request.header("x-api-key"), key_of(tenant)) << request.user_message;
    EXPECT_FALSE(request.header("authorization").has_value()) << request.user_message;
  }
  EXPECT_EQ(seen, static_cast<std::size_t>(kTenants * kCalls));
  // A new connection per call would be 800 each.
  EXPECT_LE(upstream().counted.connections() - counted_before, static_cast<std::size_t>(kTenants));
  EXPECT_LE(upstream().small_pool.connections() - small_before, kSmallPool);
}

TEST_F(AnthropicPlugin, CancelIsNoticedWhileTheServerSendsNothing) {
  AsyncResponse response =
      model("claude-stall")
          .prompt_async("stall until cancelled", {.key = Key("sk-ant-test-stall")});
  std::this_thread::sleep_for(100ms);  // the request is out; the server holds its answer 30 s
  response.cancel();
  // Far below the server's 30 s (and the 10 min read timeout): the call noticed the cancel.
  ASSERT_TRUE(response.wait_for(5s)) << "the call did not notice the cancel";
  EXPECT_TRUE(response.get().cancelled);
  EXPECT_EQ(model("claude-fake").prompt("after a cancel", {.key = Key("sk-ant-test-after")}).text,
            FakeAnthropicServer::answer_for("after a cancel"));
}

}  // namespace
}  // namespace llmrt::test
