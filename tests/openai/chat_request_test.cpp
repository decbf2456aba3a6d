// Options -> the Chat Completions request body.
#include "chat_request.hpp"

#include <llmrt/sdk.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>

namespace llmrt::openai {
namespace {

namespace json = boost::json;

json::object request(std::string_view model, std::string_view text, std::string_view options,
                     bool stream) {
  return json::parse(build_chat_request(model, text, parse_call_options(options), stream))
      .as_object();
}

llmrt_status refusal_status(std::string_view options) {
  try {
    parse_call_options(options);
  } catch (const sdk::Error& error) {
    return error.status();
  }
  return LLMRT_OK;
}

TEST(OpenAiChatRequest, PromptBecomesOneUserMessage) {
  const json::object body = request("gpt-4o-mini", "Hello there", "{}", false);
  EXPECT_EQ(body.at("model"), "gpt-4o-mini");
  EXPECT_EQ(body.at("stream"), false);
  EXPECT_EQ(body.at("messages"), json::parse(R"([{"role":"user","content":"Hello there"}])"));
  for (const char* absent : {"temperature", "top_p", "max_tokens", "seed", "stop"}) {
    EXPECT_FALSE(body.contains(absent)) << absent;
  }
  EXPECT_EQ(request("m", "x", "", true).at("stream"), true);
}

TEST(OpenAiChatRequest, SystemMessageGoesFirst) {
  const json::object body = request("m", "Hi", R"({"system":"Be brief."})", true);
  EXPECT_EQ(body.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},
                                                 {"role":"user","content":"Hi"}])"));
}

TEST(OpenAiChatRequest, MessagesOptionIsSentAsIs) {
  const char* messages =
      R"([{"role":"system","content":"S"},{"role":"user","content":"a"},)"
      R"({"role":"assistant","content":"b"},{"role":"user","content":[{"type":"text","text":"c"}]}])";
  const json::object body =
      request("m", "ignored",
              std::string(R"({"system":"ignored too","messages":)") + messages + "}", false);
  EXPECT_EQ(body.at("messages"), json::parse(messages));
}

TEST(OpenAiChatRequest, SamplingOptionsAreSent) {
  const json::object body = request(
      "gpt-4o", "x",
      R"({"temperature":0.5,"top_p":0.9,"max_tokens":64,"seed":-7,"stop":["\n\n","END"]})", false);
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.5);
  EXPECT_EQ(body.at("top_p").to_number<double>(), 0.9);
  EXPECT_EQ(body.at("max_tokens").to_number<std::int64_t>(), 64);
  EXPECT_EQ(body.at("seed").to_number<std::int64_t>(), -7);
  EXPECT_EQ(body.at("stop"), json::parse(R"(["\n\n","END"])"));
}

TEST(OpenAiChatRequest, ReasoningModelsGetMaxCompletionTokens) {
  for (const char* model : {"o1", "o3-mini", "o4-mini", "gpt-5-mini"}) {
    const json::object body = request(model, "x", R"({"max_tokens":10})", false);
    EXPECT_FALSE(body.contains("max_tokens")) << model;
    EXPECT_EQ(body.at("max_completion_tokens").to_number<std::int64_t>(), 10) << model;
  }
  EXPECT_TRUE(request("omni-local", "x", R"({"max_tokens":10})", false).contains("max_tokens"));
}

TEST(OpenAiChatRequest, TimeoutsHaveDefaultsAndCanBeSet) {
  const CallOptions defaults = parse_call_options("{}");
  EXPECT_EQ(defaults.connect_timeout.count(), 10000);
  EXPECT_EQ(defaults.read_timeout.count(), 60000);
  const CallOptions set = parse_call_options(R"({"connect_timeout_ms":5,"read_timeout_ms":300})");
  EXPECT_EQ(set.connect_timeout.count(), 5);
  EXPECT_EQ(set.read_timeout.count(), 300);
  // Integers may come as integral doubles (the host accepts 300.0 for an integer).
  EXPECT_EQ(parse_call_options(R"({"read_timeout_ms":300.0})").read_timeout.count(), 300);
}

TEST(OpenAiChatRequest, BadOptionsAreBadRequests) {
  for (const char* bad :
       {"[]", "not json", R"({"temperature":3})", R"({"temperature":"hot"})", R"({"top_p":-1})",
        R"({"max_tokens":0})", R"({"max_tokens":1.5})", R"({"stop":[1]})", R"({"stop":7})",
        R"({"system":1})", R"({"messages":[]})", R"({"messages":["hi"]})",
        R"({"messages":[{"content":"no role"}]})", R"({"read_timeout_ms":0})",
        R"({"connect_timeout_ms":"fast"})", R"({"unknown":1})"}) {
    EXPECT_EQ(refusal_status(bad), LLMRT_BAD_REQUEST) << bad;
  }
}

// The message a refusal carries ("" when the options are accepted).
std::string refusal_message(std::string_view options) {
  try {
    parse_call_options(options);
  } catch (const sdk::Error& error) {
    return error.what();
  }
  return "";
}

// The messages name the option and what it must be; these texts are the plugin's interface (docs,
// scripts) and stay exactly as they are whatever shared code produces them.
// (Bounds of numbers print as Boost.JSON serializes doubles: "0E0 to 1E0". Kept as shipped.)
TEST(OpenAiChatRequest, RefusalsNameTheOptionAndWhatItMustBe) {
  EXPECT_EQ(refusal_message("[]"), "the options must be a JSON object");
  EXPECT_EQ(refusal_message("not json"), "the options must be a JSON object");
  EXPECT_EQ(refusal_message(R"({"unknown":1})"), "unknown option 'unknown'");
  EXPECT_EQ(refusal_message(R"({"temperature":3})"),
            "option 'temperature' must be a number from 0E0 to 2E0");
  EXPECT_EQ(refusal_message(R"({"top_p":-1})"), "option 'top_p' must be a number from 0E0 to 1E0");
  EXPECT_EQ(refusal_message(R"({"temperature":"hot"})"), "option 'temperature' must be a number");
  EXPECT_EQ(refusal_message(R"({"max_tokens":0})"),
            "option 'max_tokens' must be an integer from 1 to 9223372036854775807");
  EXPECT_EQ(refusal_message(R"({"max_tokens":-5})"),
            "option 'max_tokens' must be an integer from 1 to 9223372036854775807");
  EXPECT_EQ(refusal_message(R"({"max_tokens":1.5})"), "option 'max_tokens' must be an integer");
  EXPECT_EQ(refusal_message(R"({"max_tokens":"5"})"), "option 'max_tokens' must be an integer");
  EXPECT_EQ(refusal_message(R"({"max_retries":11})"),
            "option 'max_retries' must be an integer from 0 to 10");
  EXPECT_EQ(refusal_message(R"({"read_timeout_ms":3600001})"),
            "option 'read_timeout_ms' must be an integer from 1 to 3600000");
  EXPECT_EQ(refusal_message(R"({"connect_timeout_ms":"fast"})"),
            "option 'connect_timeout_ms' must be an integer");
  EXPECT_EQ(refusal_message(R"({"stop":7})"), "option 'stop' must be an array of strings");
  EXPECT_EQ(refusal_message(R"({"stop":[1]})"), "option 'stop' must be an array of strings");
  EXPECT_EQ(refusal_message(R"({"system":1})"), "option 'system' must be a string");
  EXPECT_EQ(refusal_message(R"({"messages":[]})"),
            "option 'messages' must be a non-empty array of message objects");
  EXPECT_EQ(refusal_message(R"({"messages":[{"content":"no role"}]})"),
            "option 'messages' must be a non-empty array of message objects, each with a \"role\"");
}

// openai counts a number written with a fraction or an exponent as an integer only when it is whole
// and below 9e15 in magnitude (where a double still holds every integer exactly). Past that, or
// past what an int64 holds, the number "must be an integer" - it is not range-checked.
TEST(OpenAiChatRequest, WholeDoublesCountAsIntegersOnlyBelow9e15) {
  EXPECT_EQ(*parse_call_options(R"({"max_tokens":1e3})").max_tokens, 1000);
  EXPECT_EQ(*parse_call_options(R"({"seed":-8.9e15})").seed, -8'900'000'000'000'000);
  EXPECT_EQ(*parse_call_options(R"({"max_tokens":8.9e15})").max_tokens, 8'900'000'000'000'000);
  EXPECT_EQ(*parse_call_options(R"({"seed":9223372036854775807})").seed, INT64_MAX);
  EXPECT_EQ(*parse_call_options(R"({"seed":-9223372036854775808})").seed, INT64_MIN);
  const std::pair<const char*, const char*> too_big[] = {
      {R"({"max_tokens":9e15})", "max_tokens"},
      {R"({"max_tokens":1e16})", "max_tokens"},
      {R"({"seed":-1e16})", "seed"},
      {R"({"max_tokens":1e300})", "max_tokens"},
      {R"({"max_tokens":18446744073709551615})", "max_tokens"}};
  for (const auto& [options, name] : too_big) {
    EXPECT_EQ(refusal_message(options), "option '" + std::string(name) + "' must be an integer")
        << options;
  }
  EXPECT_EQ(refusal_message(R"({"max_retries":-0.0})"), "");
  EXPECT_EQ(parse_call_options(R"({"max_retries":-0.0})").max_retries, 0);
}

TEST(OpenAiChatRequest, InvalidUtf8InThePromptBecomesReplacementCharacters) {
  const std::string text = std::string("ok \xC3\xA9 bad \xFF\xC3 nul ") + '\0' + " end";
  const std::string body = build_chat_request("m", text, {}, false);
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  ASSERT_FALSE(ec) << body;
  const std::string content(parsed.at("messages").at(0).at("content").as_string());
  EXPECT_EQ(content, std::string("ok \xC3\xA9 bad \xEF\xBF\xBD\xEF\xBF\xBD nul ") + '\0' + " end");
}

TEST(OpenAiChatRequest, OptionsSchemaDeclaresEveryOption) {
  const json::value schema = json::parse(options_schema());
  const json::object& properties = schema.at("properties").as_object();
  for (const char* name : {"temperature", "max_tokens", "top_p", "seed", "stop", "system",
                           "messages", "connect_timeout_ms", "read_timeout_ms"}) {
    ASSERT_TRUE(properties.contains(name)) << name;
    EXPECT_TRUE(properties.at(name).as_object().contains("type")) << name;
  }
  EXPECT_EQ(properties.at("stop").at("type"), "array");
  EXPECT_EQ(properties.at("messages").at("type"), "array");
}

}  // namespace
}  // namespace llmrt::openai
