// Options -> the Messages API request body, without the plugin boundary: what the options accept,
// the exact refusals, and where they go in the body.
#include "messages_request.hpp"

#include <llmrt/sdk.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace llmrt::anthropic {
namespace {

namespace json = boost::json;

// The message a refusal carries ("" when the options are accepted).
std::string refusal_message(std::string_view options) {
  try {
    parse_call_options(options);
  } catch (const sdk::Error& error) {
    EXPECT_EQ(error.status(), LLMRT_BAD_REQUEST) << options;
    return error.what();
  }
  return "";
}

json::object request(std::string_view options, bool stream = false) {
  return json::parse(
             build_messages_request("claude-x", "Hi", parse_call_options(options), stream, "", {}))
      .as_object();
}

TEST(AnthropicMessagesRequest, DefaultsFillWhatTheCallLeavesOut) {
  const CallOptions defaults = parse_call_options("");
  EXPECT_EQ(defaults.max_tokens, kDefaultMaxTokens);
  EXPECT_EQ(defaults.connect_timeout.count(), 10000);
  EXPECT_EQ(defaults.read_timeout.count(), 600000);
  EXPECT_EQ(defaults.max_retries, 2);
  EXPECT_EQ(request("{}").at("max_tokens").to_number<std::int64_t>(), kDefaultMaxTokens);
  EXPECT_FALSE(request("{}").contains("stop_sequences"));
  EXPECT_FALSE(request("{}").contains("stream"));
  EXPECT_EQ(request("{}", true).at("stream"), true);
}

TEST(AnthropicMessagesRequest, OptionsGoWhereTheApiWantsThem) {
  const json::object body = request(
      R"({"max_tokens":64,"temperature":0.5,"top_p":0.9,"top_k":5,"stop":["END","\n\n"],)"
      R"("system":"Be brief.","connect_timeout_ms":5,"read_timeout_ms":300.0,"max_retries":0})");
  EXPECT_EQ(body.at("max_tokens").to_number<std::int64_t>(), 64);
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.5);
  EXPECT_EQ(body.at("top_p").to_number<double>(), 0.9);
  EXPECT_EQ(body.at("top_k").to_number<std::int64_t>(), 5);
  EXPECT_EQ(body.at("stop_sequences"), json::parse(R"(["END","\n\n"])"));
  EXPECT_EQ(body.at("system"), "Be brief.");
  EXPECT_EQ(request(R"({"stop":"END"})").at("stop_sequences"), json::parse(R"(["END"])"));
  EXPECT_FALSE(request(R"({"stop":[]})").contains("stop_sequences"));
  const CallOptions set =
      parse_call_options(R"({"connect_timeout_ms":5,"read_timeout_ms":300.0,"max_retries":0})");
  EXPECT_EQ(set.connect_timeout.count(), 5);
  EXPECT_EQ(set.read_timeout.count(), 300);
  EXPECT_EQ(set.max_retries, 0);
}

// The messages name the option and what it must be; these texts are the plugin's interface and
// stay exactly as they are whatever shared code produces them.
// (Bounds of numbers print as Boost.JSON serializes doubles: "0E0 to 1E0". Kept as shipped.)
TEST(AnthropicMessagesRequest, RefusalsNameTheOptionAndWhatItMustBe) {
  EXPECT_EQ(refusal_message("[]"), "the options must be a JSON object");
  EXPECT_EQ(refusal_message("{"), "the options must be a JSON object");
  EXPECT_EQ(refusal_message(R"({"seed":1})"), "unknown option 'seed'");
  EXPECT_EQ(refusal_message(R"({"messages":[]})"), "unknown option 'messages'");
  EXPECT_EQ(refusal_message(R"({"temperature":1.5})"),
            "option 'temperature' must be a number from 0E0 to 1E0");
  EXPECT_EQ(refusal_message(R"({"top_p":"x"})"), "option 'top_p' must be a number");
  EXPECT_EQ(refusal_message(R"({"max_tokens":0})"),
            "option 'max_tokens' must be an integer from 1 to 1000000");
  EXPECT_EQ(refusal_message(R"({"max_tokens":1000001})"),
            "option 'max_tokens' must be an integer from 1 to 1000000");
  EXPECT_EQ(refusal_message(R"({"top_k":-1})"),
            "option 'top_k' must be an integer from 0 to 1000000");
  EXPECT_EQ(refusal_message(R"({"top_k":2.5})"), "option 'top_k' must be an integer");
  EXPECT_EQ(refusal_message(R"({"max_retries":true})"), "option 'max_retries' must be an integer");
  EXPECT_EQ(refusal_message(R"({"connect_timeout_ms":600001})"),
            "option 'connect_timeout_ms' must be an integer from 1 to 600000");
  EXPECT_EQ(refusal_message(R"({"stop":[1]})"), "option 'stop' must be an array of strings");
  EXPECT_EQ(refusal_message(R"({"stop":{}})"), "option 'stop' must be an array of strings");
  EXPECT_EQ(refusal_message(R"({"system":["a"]})"), "option 'system' must be a string");
}

// anthropic counts any whole number an int64 holds as an integer, however it is written (5.0, 1e3,
// 1e16), and then checks the range: so 1e16 tokens is "from 1 to 1000000", where openai (which
// stops at 9e15) says "must be an integer". Past int64, or with a fraction, "must be an integer".
TEST(AnthropicMessagesRequest, WholeDoublesCountAsIntegersUpToInt64) {
  EXPECT_EQ(parse_call_options(R"({"max_tokens":1e3})").max_tokens, 1000);
  EXPECT_EQ(parse_call_options(R"({"max_retries":-0.0})").max_retries, 0);
  for (const char* in_int64 : {R"({"max_tokens":9e15})", R"({"max_tokens":1e16})",
                               R"({"max_tokens":9.2e18})", R"({"max_tokens":-1e16})"}) {
    EXPECT_EQ(refusal_message(in_int64), "option 'max_tokens' must be an integer from 1 to 1000000")
        << in_int64;
  }
  for (const char* not_int64 : {R"({"max_tokens":1e19})", R"({"max_tokens":1e300})",
                                R"({"max_tokens":18446744073709551615})"}) {
    EXPECT_EQ(refusal_message(not_int64), "option 'max_tokens' must be an integer") << not_int64;
  }
}

}  // namespace
}  // namespace llmrt::anthropic
