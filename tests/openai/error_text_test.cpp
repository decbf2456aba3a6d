// Statuses and messages for what went wrong, and the scrubbing of keys out of them.
#include "error_text.hpp"

#include <llmrt/sdk.hpp>

#include <gtest/gtest.h>

namespace llmrt::provider {
namespace {

TEST(OpenAiErrorText, ScrubsTheCallKeyWherever) {
  EXPECT_EQ(scrub("key=my-secret-key; again:my-secret-key.", "my-secret-key"),
            "key=[redacted]; again:[redacted].");
  // A key with characters JSON escapes, as a provider would echo it inside JSON text.
  EXPECT_EQ(scrub(R"({"k":"a\"b\\c"})", "a\"b\\c"), R"({"k":"[redacted]"})");
  EXPECT_EQ(scrub("nothing here", ""), "nothing here");
}

TEST(OpenAiErrorText, ScrubsKeyLookingStrings) {
  EXPECT_EQ(scrub("Incorrect API key provided: sk-proj-abc123_XYZ-9. Try again.", ""),
            "Incorrect API key provided: [redacted]. Try again.");
  EXPECT_EQ(scrub("(sk-abc)", ""), "([redacted])");
  EXPECT_EQ(scrub("Authorization: Bearer abc.def-ghi, next", ""),
            "Authorization: Bearer [redacted], next");
  EXPECT_EQ(scrub("got \"bearer   tok\"", ""), "got \"Bearer [redacted]\"");
  // Words that merely contain the letters are left alone.
  EXPECT_EQ(scrub("task-force ask-me sk- Bearer", ""), "task-force ask-me sk- Bearer");
}

TEST(OpenAiErrorText, MessagesStayOnOneLine) {
  EXPECT_EQ(scrub("a\nb\r\tc\x7F", ""), "a b  c ");
}

TEST(OpenAiErrorText, StatusForEachHttpStatus) {
  EXPECT_EQ(status_for_http(400), LLMRT_BAD_REQUEST);
  EXPECT_EQ(status_for_http(401), LLMRT_KEY_REJECTED);
  EXPECT_EQ(status_for_http(403), LLMRT_KEY_REJECTED);
  EXPECT_EQ(status_for_http(404), LLMRT_BAD_REQUEST);
  EXPECT_EQ(status_for_http(413), LLMRT_BAD_REQUEST);
  EXPECT_EQ(status_for_http(422), LLMRT_BAD_REQUEST);
  EXPECT_EQ(status_for_http(408), LLMRT_UNAVAILABLE);
  EXPECT_EQ(status_for_http(429), LLMRT_UNAVAILABLE);
  EXPECT_EQ(status_for_http(500), LLMRT_UNAVAILABLE);
  EXPECT_EQ(status_for_http(502), LLMRT_UNAVAILABLE);
  EXPECT_EQ(status_for_http(503), LLMRT_UNAVAILABLE);
  EXPECT_EQ(status_for_http(301), LLMRT_FAILED);
  EXPECT_EQ(status_for_http(100), LLMRT_FAILED);
}

TEST(OpenAiErrorText, ProviderMessageFromTheUsualBodies) {
  EXPECT_EQ(provider_message(R"({"error":{"message":"Bad thing","type":"x"}})"), "Bad thing");
  EXPECT_EQ(provider_message(R"({"error":"plain string"})"), "plain string");
  EXPECT_EQ(provider_message(R"({"object":"error","message":"vllm says"})"), "vllm says");
  EXPECT_EQ(provider_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(provider_message("<html>\n  <h1>502   Bad Gateway</h1>\n</html>\n"),
            "<html> <h1>502 Bad Gateway</h1> </html>");
  EXPECT_EQ(provider_message(""), "");
}

TEST(OpenAiErrorText, HttpErrorMessageHasStatusUrlAndScrubbedProviderText) {
  const std::string key = "sk-test-4f9c2a";
  const std::string body = R"({"error":{"message":"Incorrect API key provided: Bearer )" + key +
                           R"(. Also sk-proj-abc123def456.","type":"invalid_request_error"}})";
  const std::string message =
      http_error_message(401, "http://127.0.0.1:9/v1/chat/completions", body, "gpt-4o", key);
  EXPECT_NE(message.find("HTTP 401 (Unauthorized) from http://127.0.0.1:9/v1/chat/completions"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("Incorrect API key provided"), std::string::npos) << message;
  EXPECT_EQ(message.find(key), std::string::npos) << message;
  EXPECT_EQ(message.find("4f9c2a"), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-proj"), std::string::npos) << message;

  const std::string not_found =
      http_error_message(404, "u", R"({"error":{"message":"no such model"}})", "gpt-9", "");
  EXPECT_NE(not_found.find("gpt-9"), std::string::npos) << not_found;
}

TEST(OpenAiErrorText, LongBodiesAreCutAfterScrubbing) {
  // A key right at the cut must not survive in part.
  const std::string key = "k3y-" + std::string(40, 'z');
  const std::string body = std::string(590, 'a') + key + std::string(200, 'b');
  const std::string message = http_error_message(500, "u", body, "m", key);
  EXPECT_EQ(message.find("zzzz"), std::string::npos) << message;
  EXPECT_LT(message.size(), 800u);
}

TEST(OpenAiErrorText, ThrowHttpErrorCarriesTheStatus) {
  try {
    throw_http_error(429, "u", "{}", "m", "");
  } catch (const sdk::Error& error) {
    EXPECT_EQ(error.status(), LLMRT_UNAVAILABLE);
    EXPECT_NE(std::string(error.what()).find("HTTP 429"), std::string::npos);
  }
}

}  // namespace
}  // namespace llmrt::provider
