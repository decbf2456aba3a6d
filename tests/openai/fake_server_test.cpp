// The fake OpenAI server itself, seen through a plain HTTP client: its answers must have OpenAI's
// exact shapes, since the plugin's and the gateway's tests rely on them.
#include "fake_openai_server.hpp"

#include <httplib.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace llmrt::test {
namespace {

namespace json = boost::json;

std::string chat_body(std::string_view model, std::string_view text, bool stream) {
  return json::serialize(
      json::object{{"model", model},
                   {"stream", stream},
                   {"messages", json::array{json::object{{"role", "system"}, {"content", "sys"}},
                                            json::object{{"role", "user"}, {"content", text}}}}});
}

TEST(FakeOpenAiServer, ListsModels) {
  FakeOpenAiServer server;
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/v1");
  httplib::Client client("127.0.0.1", server.port());
  const auto result = client.Get("/v1/models");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const json::value list = json::parse(result->body);
  EXPECT_EQ(list.at("object"), "list");
  EXPECT_EQ(list.at("data").at(0).at("id"), "fake-model");
}

TEST(FakeOpenAiServer, AnswersAChatCompletion) {
  FakeOpenAiServer server;
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers headers = {{"Authorization", "Bearer sk-test-fake"}};
  const auto result =
      client.Post("/v1/chat/completions", headers, chat_body("fake-model", "hello there", false),
                  "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const json::value completion = json::parse(result->body);
  EXPECT_EQ(completion.at("object"), "chat.completion");
  EXPECT_EQ(completion.at("model"), "fake-model");
  const json::value& choice = completion.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("role"), "assistant");
  EXPECT_EQ(choice.at("message").at("content"), "echo: hello there");
  EXPECT_EQ(choice.at("finish_reason"), "stop");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].authorization, "Bearer sk-test-fake");
  EXPECT_EQ(requests[0].model, "fake-model");
  EXPECT_FALSE(requests[0].stream);
  EXPECT_EQ(requests[0].user_message, "hello there");
  server.clear_requests();
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(FakeOpenAiServer, StreamsOpenAiChunks) {
  FakeOpenAiServer server;
  httplib::Client client("127.0.0.1", server.port());
  const auto result = client.Post(
      "/v1/chat/completions", chat_body("fake-model", "one two three", true), "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/event-stream");
  const std::string& body = result->body;
  ASSERT_TRUE(body.ends_with("data: [DONE]\n\n")) << body;
  std::string content;
  std::vector<std::string> events;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t end = body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos);
    const std::string event = body.substr(at, end - at);
    ASSERT_TRUE(event.starts_with("data: ")) << event;
    events.push_back(event.substr(6));
    at = end + 2;
  }
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back(), "[DONE]");
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const json::value chunk = json::parse(events[i]);
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    const json::value& choice = chunk.at("choices").at(0);
    const bool last = i + 2 == events.size();
    EXPECT_EQ(choice.at("finish_reason").is_null(), !last) << events[i];
    if (i == 0) {
      EXPECT_EQ(choice.at("delta").at("role"), "assistant");
    }
    if (const auto* text = choice.at("delta").as_object().if_contains("content")) {
      content += text->as_string();
    }
  }
  EXPECT_EQ(content, "echo: one two three");
}

TEST(FakeOpenAiServer, ErrorStatusesEchoTheAuthorizationTheyGot) {
  FakeOpenAiServer server;
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers headers = {{"Authorization", "Bearer sk-test-echo"}};
  const auto result = client.Post("/v1/chat/completions", headers,
                                  chat_body("status-429", "x", false), "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 429);
  const std::string message(json::parse(result->body).at("error").at("message").as_string());
  EXPECT_NE(message.find("Bearer sk-test-echo"), std::string::npos);
  EXPECT_NE(message.find(kFakeLeakedKey), std::string::npos);
}

TEST(FakeOpenAiServer, RefusesABodyThatIsNotAChatRequest) {
  FakeOpenAiServer server;
  httplib::Client client("127.0.0.1", server.port());
  const auto result = client.Post("/v1/chat/completions", "nope", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_TRUE(json::parse(result->body).at("error").is_object());
}

TEST(FakeOpenAiServer, StopsPromptlyEvenDuringAStall) {
  const auto start = std::chrono::steady_clock::now();
  {
    FakeOpenAiServer server({.stall_time = std::chrono::seconds(30)});
    std::thread caller([&] {
      httplib::Client client("127.0.0.1", server.port());
      client.set_read_timeout(std::chrono::milliseconds(200));
      client.Post("/v1/chat/completions", chat_body("stall", "x", false), "application/json");
    });
    caller.join();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace llmrt::test
