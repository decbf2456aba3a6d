// The openai plugin in a conversation (ABI 2.2): the system prompt and earlier turns reach the API
// as its native messages list, a streamed request asks for the usage chunk, and the API's usage
// (of a whole completion, or the stream's last chunk) comes back in Response::usage.
//
// Its own tiny upstream on 127.0.0.1 that answers with canned usage figures and keeps each
// request body: the plugin reads its model list once per process, hence one server per executable.
#include <gtest/gtest.h>
#include <httplib.h>
#include <llmrt/llmrt.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;

class UsageUpstream {
 public:
  UsageUpstream() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& request,
                                                httplib::Response& response) {
      {
        std::lock_guard lock(mutex_);
        bodies_.push_back(json::parse(request.body).as_object());
      }
      if (json::parse(request.body).as_object().at("stream").as_bool()) {
        response.set_content(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},"
            "\"finish_reason\":\"stop\"}]}\n\n"
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,"
            "\"total_tokens\":13}}\n\n"
            "data: [DONE]\n\n",
            "text/event-stream");
      } else {
        response.set_content(
            R"({"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},)"
            R"("finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,)"
            R"("total_tokens":12,"prompt_tokens_details":{"cached_tokens":4}}})",
            "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing before the accept loop runs: a short test could stop the server first
    // and then wait forever in join() (seen once in the full suite under load).
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    json::array models;
    models.push_back({{"id", "usage-model"},
                      {"model", "m"},
                      {"api_base", "http://127.0.0.1:" + std::to_string(port_) + "/v1"},
                      {"no_key", true}});
    std::ofstream(user_.path() / "openai-models.json") << json::serialize(models);
  }
  ~UsageUpstream() {
    server_.stop();
    thread_.join();
  }

  const std::filesystem::path& user_dir() const { return user_.path(); }
  json::object last_body() {
    std::lock_guard lock(mutex_);
    return bodies_.back();
  }

 private:
  TempDir user_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<json::object> bodies_;
};

class OpenAiConversation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { upstream_ = new UsageUpstream(); }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }
  void SetUp() override {
    RuntimeConfig config = isolated_config(upstream_->user_dir(), environment_);
    config.load_bundled_plugins = true;
    runtime_.emplace(std::move(config));
  }

  static UsageUpstream* upstream_;
  FakeEnvironment environment_;
  std::optional<Runtime> runtime_;
};

UsageUpstream* OpenAiConversation::upstream_ = nullptr;

TEST_F(OpenAiConversation, TheModelDeclaresThatItReadsConversations) {
  EXPECT_TRUE(runtime_->get_model("usage-model").info().conversation);
}

TEST_F(OpenAiConversation, EarlierTurnsAndTheSystemPromptAreSentAsNativeMessages) {
  Conversation chat = runtime_->get_model("usage-model").conversation();
  EXPECT_EQ(chat.prompt("Hi", {.system = "Be terse", .stream = false}).text, "Hello");
  const Response second = chat.prompt("And again?", {.stream = false});
  EXPECT_TRUE(second.warnings.empty());
  const json::array expected = {
      {{"role", "system"}, {"content", "Be terse"}},
      {{"role", "user"}, {"content", "Hi"}},
      {{"role", "assistant"}, {"content", "Hello"}},
      {{"role", "user"}, {"content", "And again?"}},
  };
  EXPECT_EQ(upstream_->last_body().at("messages"), expected)
      << json::serialize(upstream_->last_body());
}

TEST_F(OpenAiConversation, TheUsageOfACompletionIsReportedWithTheApisOwnFigures) {
  const Response response = runtime_->get_model("usage-model").prompt("x", {.stream = false});
  ASSERT_TRUE(response.usage.has_value());
  EXPECT_EQ(response.usage->input_tokens, 9);
  EXPECT_EQ(response.usage->output_tokens, 3);
  EXPECT_EQ(json::parse(response.usage->details_json)
                .at("prompt_tokens_details")
                .at("cached_tokens")
                .as_int64(),
            4);
}

TEST_F(OpenAiConversation, AStreamAsksForTheUsageChunkAndReportsItAfterTheText) {
  std::string streamed;
  const Response response =
      runtime_->get_model("usage-model")
          .prompt("x", {.stream = true, .on_chunk = [&](std::string_view chunk) {
                          streamed += chunk;
                          return true;
                        }});
  EXPECT_EQ(streamed, "Hello");
  EXPECT_EQ(upstream_->last_body().at("stream_options").at("include_usage"), true);
  ASSERT_TRUE(response.usage.has_value());
  EXPECT_EQ(response.usage->input_tokens, 11);
  EXPECT_EQ(response.usage->output_tokens, 2);
  EXPECT_TRUE(response.warnings.empty()) << response.warnings[0];
}

TEST_F(OpenAiConversation, AConversationSumsTheUsageOfItsTurns) {
  Conversation chat = runtime_->get_model("usage-model").conversation();
  chat.prompt("one", {.stream = false});
  chat.prompt("two", {.stream = true});
  EXPECT_EQ(chat.usage().input_tokens, 9 + 11);
  EXPECT_EQ(chat.usage().output_tokens, 3 + 2);
}

}  // namespace
}  // namespace llmrt::test
