// The openai plugin on the shared provider code: calls reuse pooled keep-alive connections (the
// relay in front of the fake server counts them), each still carrying only its own key, and a
// connection dropped before any answer is retried.
#include <llmrt/llmrt.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "fake_openai_server.hpp"
#include "tcp_relay.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;

struct Upstream {
  FakeOpenAiServer server;
  TcpRelay counted{TcpRelay::forward_to(server.port())};
  TcpRelay drop_first{TcpRelay::forward_to(server.port(), 1)};
  TcpRelay idle{TcpRelay::forward_to(server.port())};
  TempDir user;

  Upstream() {
    const auto at = [](int port) { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; };
    json::array models;
    models.push_back({{"id", "fake-counted"},
                      {"model", "fake-model"},
                      {"api_base", at(counted.port())},
                      {"headers", {{"OpenAI-Organization", "org-test"}}}});
    models.push_back(
        {{"id", "fake-drop-first"}, {"model", "fake-model"}, {"api_base", at(drop_first.port())}});
    models.push_back({{"id", "fake-idle"}, {"model", "fake-model"}, {"api_base", at(idle.port())}});
    std::ofstream(user.path() / "openai-models.json") << json::serialize(models);
  }
};

Upstream& upstream() {
  static Upstream shared;
  return shared;
}

class OpenAiPool : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream();
    runtime_ = std::make_unique<Runtime>(isolated_config(upstream().user.path(), environment_));
  }
  FakeEnvironment environment_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(OpenAiPool, SixteenTenantsReuseConnectionsAndEachSendOnlyItsOwnKey) {
  constexpr int kTenants = 16;
  constexpr int kCalls = 100;
  const auto key_of = [](int tenant) { return "sk-test-pool-" + std::to_string(tenant) + "-x9"; };
  std::vector<std::string> failures[kTenants];
  std::vector<std::thread> threads;
  for (int tenant = 0; tenant < kTenants; ++tenant) {
    threads.emplace_back([&, tenant] {
      for (int call = 0; call < kCalls; ++call) {
        const std::string text = "pool " + std::to_string(tenant) + " " + std::to_string(call);
        try {
          const Response response =
              runtime_->get_model("fake-counted")
                  .prompt(text, {.key = Key(key_of(tenant)), .stream = call % 2 == 0});
          if (response.text != FakeOpenAiServer::answer_for(text)) {
            failures[tenant].push_back("wrong answer: " + response.text);
          }
        } catch (const Error& error) {
          failures[tenant].push_back(error.what());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int tenant = 0; tenant < kTenants; ++tenant) {
    EXPECT_TRUE(failures[tenant].empty()) << failures[tenant].front();
    for (const std::string& failure : failures[tenant]) {
      for (int other = 0; other < kTenants; ++other) {
        EXPECT_EQ(failure.find(key_of(other)), std::string::npos) << failure;
      }
    }
  }
  std::size_t seen = 0;
  for (const FakeOpenAiRequest& request : upstream().server.requests()) {
    if (!request.user_message.starts_with("pool ")) continue;
    ++seen;
    const int tenant = std::stoi(request.user_message.substr(5));
    EXPECT_EQ(request.authorization, "Bearer " + key_of(tenant)) << request.user_message;
    EXPECT_EQ(request.headers.at("OpenAI-Organization"), "org-test");
  }
  EXPECT_EQ(seen, static_cast<std::size_t>(kTenants * kCalls));
  // One connection per call (the plugin before the pool) would be 1600.
  EXPECT_LE(upstream().counted.connections(), static_cast<std::size_t>(kTenants));
}

TEST_F(OpenAiPool, ConnectionDroppedBeforeAnyAnswerIsRetried) {
  const Response response =
      runtime_->get_model("fake-drop-first").prompt("dropped once", {.key = Key("sk-test-drop")});
  EXPECT_EQ(response.text, FakeOpenAiServer::answer_for("dropped once"));
  EXPECT_EQ(upstream().drop_first.connections(), 2u);
}

TEST_F(OpenAiPool, IdleConnectionIsClosedAfterTheIdleTimeout) {
  Model model = runtime_->get_model("fake-idle");
  model.prompt("idle 1", {.key = Key("sk-test-idle")});
  model.prompt("idle 2", {.key = Key("sk-test-idle")});
  EXPECT_EQ(upstream().idle.connections(), 1u);  // back to back: the same connection
  // Past the pool's idle timeout (4 s, under the 5 s many servers keep an idle connection): the
  // pool closed it rather than risk a connection the server is closing.
  std::this_thread::sleep_for(std::chrono::milliseconds(4300));
  model.prompt("idle 3", {.key = Key("sk-test-idle")});
  EXPECT_EQ(upstream().idle.connections(), 2u);
}

}  // namespace
}  // namespace llmrt::test
