// The gateway in-process: a serve::Gateway over a test Runtime on an ephemeral loopback port,
// spoken to with httplib clients the way an OpenAI client would.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"

namespace llmrt::test::serve_test {
namespace {

using namespace std::chrono_literals;

constexpr auto kEventTimeout = kThreadSanitizer ? 10s : 3s;

// ---- Protocol -----------------------------------------------------------------------------------

TEST(GatewayProtocol, HealthzAnswersOk) {
  ServedGateway gateway;
  auto client = gateway.client();
  const Reply reply = to_reply(client->Get("/healthz"));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  const json::value body = json::parse(reply.body);
  EXPECT_EQ(field(body.as_object(), "status"), "ok");
}

TEST(GatewayProtocol, ModelsListsEchoAndLegacyEcho) {
  ServedGateway gateway;
  auto client = gateway.client();
  const Reply reply = to_reply(client->Get("/v1/models"));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  const json::value body = json::parse(reply.body);
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(field(body.as_object(), "object"), "list");
  const json::value* data = body.as_object().if_contains("data");
  ASSERT_TRUE(data && data->is_array()) << reply;
  std::set<std::string> ids;
  for (const json::value& model : data->as_array()) {
    ASSERT_TRUE(model.is_object()) << reply;
    EXPECT_EQ(field(model.as_object(), "object"), "model");
    EXPECT_TRUE(model.as_object().contains("owned_by"));
    ids.insert(field(model.as_object(), "id"));
  }
  EXPECT_TRUE(ids.count("echo")) << reply.body;
  EXPECT_TRUE(ids.count("legacy-echo")) << reply.body;
  EXPECT_EQ(ids.size(), gateway.runtime().models().size()) << reply.body;
}

TEST(GatewayProtocol, NonStreamingCompletionHasTheChatCompletionShape) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string prompt = "Hello from the protocol test";
  const Reply reply = post_chat(*client, chat_body("echo", prompt, false));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  EXPECT_EQ(completion_content(reply.body), prompt);  // no key: no key-sha256 line
  const json::object body = json::parse(reply.body).as_object();
  EXPECT_EQ(field(body, "id").rfind("chatcmpl-", 0), 0u) << reply.body;
  EXPECT_EQ(field(body, "model"), "echo");
  EXPECT_TRUE(body.contains("created") && body.at("created").is_int64()) << reply.body;
  const json::object& choice = body.at("choices").as_array()[0].as_object();
  EXPECT_EQ(field(choice, "index"), "0");
  EXPECT_EQ(field(choice, "finish_reason"), "stop");
}

TEST(GatewayProtocol, StreamingSendsChunksThatConcatenateToThePromptAndEndWithDone) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string prompt = "one two three four five";
  const Reply reply = post_chat(*client, chat_body("echo", prompt, true));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply.header("Content-Type").rfind("text/event-stream", 0), 0u)
      << reply.header("Content-Type");
  const SseStream sse = parse_sse(reply.body);
  EXPECT_TRUE(sse.problems.empty()) << sse.problems.front();
  EXPECT_TRUE(sse.ends_with_done) << reply.body;
  EXPECT_TRUE(sse.first_delta_has_role) << reply.body;
  EXPECT_EQ(sse.content, prompt);
  ASSERT_GE(sse.chunks.size(), 5u) << "echo streams word by word: " << reply.body;
  const std::string id = field(sse.chunks.front(), "id");
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  for (const json::object& chunk : sse.chunks) {
    EXPECT_EQ(field(chunk, "id"), id) << "every chunk of a completion has its id";
    EXPECT_EQ(field(chunk, "model"), "echo");
  }
  const json::object& last_choice = sse.chunks.back().at("choices").as_array()[0].as_object();
  EXPECT_EQ(field(last_choice, "finish_reason"), "stop");

  // With a key, the stream carries echo's fingerprint line of that key.
  const std::string key = "sk-stream-" + random_hex(8);
  const Reply keyed = post_chat(*client, chat_body("echo", prompt, true), bearer(key));
  EXPECT_EQ(reply_text(keyed, true), echo_reply(prompt, key));
}

TEST(GatewayProtocol, UnknownRouteIs404InOpenAIErrorShape) {
  ServedGateway gateway;
  auto client = gateway.client();
  const Reply reply = to_reply(client->Get("/v1/no-such-route"));
  EXPECT_EQ(reply.status, 404) << reply;
  EXPECT_EQ(field(error_of(reply), "type"), "invalid_request_error");
  expect_still_serving(gateway);
}

// ---- Multi-tenant keys --------------------------------------------------------------------------

TEST(GatewayTenants, SixteenConcurrentClientsEachGetOnlyTheirOwnKeyAndPrompts) {
  constexpr int kClients = 16;
  constexpr int kRequestsPerClient = 100;
  ServedGateway gateway;

  struct Tenant {
    std::string key;
    std::string fingerprint;
    int answered = 0;
    std::vector<std::string> failures;
  };
  std::vector<Tenant> tenants(kClients);
  for (int i = 0; i < kClients; ++i) {
    tenants[i].key = "sk-tenant-" + std::to_string(i) + "-" + random_hex(12);
    tenants[i].fingerprint = sha256_prefix(tenants[i].key);
  }
  auto whose = [&](const std::string& text) {
    std::string owners;
    for (int i = 0; i < kClients; ++i) {
      if (text.find(tenants[i].fingerprint) != std::string::npos) {
        owners += " fingerprint-of-" + std::to_string(i);
      }
      if (text.find(tenants[i].key) != std::string::npos) owners += " KEY-of-" + std::to_string(i);
    }
    return owners;
  };

  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Tenant& tenant = tenants[i];
      auto client = gateway.client();
      client->set_keep_alive(true);
      for (int j = 0; j < kRequestsPerClient; ++j) {
        const bool stream = j % 2 == 1;
        const std::string prompt = "tenant " + std::to_string(i) + " asks question " +
                                   std::to_string(j) + " nonce-" + random_hex(4);
        const Reply reply =
            post_chat(*client, chat_body("echo", prompt, stream), bearer(tenant.key));
        std::string text;
        bool shaped = reply.status == 200;
        if (shaped && stream) {
          const SseStream sse = parse_sse(reply.body);
          shaped = sse.problems.empty() && sse.ends_with_done && sse.first_delta_has_role;
          text = sse.content;
        } else if (shaped) {
          // completion_content's checks, without its gtest failures (this is not the main thread).
          boost::system::error_code ec;
          const json::value body = json::parse(reply.body, ec);
          const json::value* choices =
              !ec && body.is_object() ? body.as_object().if_contains("choices") : nullptr;
          const json::value* message =
              choices && choices->is_array() && !choices->as_array().empty() &&
                      choices->as_array()[0].is_object()
                  ? choices->as_array()[0].as_object().if_contains("message")
                  : nullptr;
          shaped =
              message && message->is_object() && reply.header("X-Llmrt-Key-Source") == "per-call";
          if (shaped) text = field(message->as_object(), "content");
        }
        const std::string expected = echo_reply(prompt, tenant.key);
        if (shaped && text == expected && reply.body.find(tenant.key) == std::string::npos) {
          ++tenant.answered;
        } else if (tenant.failures.size() < 5) {
          tenant.failures.push_back(
              "request " + std::to_string(j) + (stream ? " (stream)" : "") + ": expected '" +
              expected + "', got " + (shaped ? "'" + text + "'" : "badly shaped") + " reply " +
              testing::PrintToString(reply) + " [contains:" + whose(reply.body) + "]");
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();

  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(tenants[i].answered, kRequestsPerClient) << "tenant " << i;
    for (const std::string& failure : tenants[i].failures) {
      ADD_FAILURE() << "tenant " << i << ": " << failure;
    }
  }
  // The access log attributes each tenant's requests to that tenant's key, and only those.
  const std::string log = gateway.access_log_with(kClients * kRequestsPerClient);
  std::size_t chat_lines = 0;
  for (const std::string& line : lines_of(log)) {
    if (line.find(" POST /v1/chat/completions model=echo status=200 ") != std::string::npos) {
      ++chat_lines;
    }
  }
  EXPECT_EQ(chat_lines, static_cast<std::size_t>(kClients * kRequestsPerClient));
  for (int i = 0; i < kClients; ++i) {
    std::size_t count = 0;
    const std::string needle = "key=sha256:" + tenants[i].fingerprint + " ";
    for (std::size_t at = log.find(needle); at != std::string::npos;
         at = log.find(needle, at + 1)) {
      ++count;
    }
    EXPECT_EQ(count, static_cast<std::size_t>(kRequestsPerClient)) << "tenant " << i;
    EXPECT_EQ(log.find(tenants[i].key), std::string::npos) << "tenant " << i << "'s key is logged";
  }
}

// ---- Errors -------------------------------------------------------------------------------------

TEST(GatewayErrors, MalformedJsonIs400) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const std::string body :
       {R"({"model": "echo", "messages": [)", "not json at all", "", R"(["echo"])"}) {
    SCOPED_TRACE("body: " + body);
    const Reply reply = post_chat(*client, body);
    EXPECT_EQ(reply.status, 400) << reply;
    EXPECT_EQ(field(error_of(reply), "type"), "invalid_request_error");
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, WrongFieldTypesAre400NamingTheField) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string messages = R"([{"role": "user", "content": "hi"}])";
  const std::map<std::string, std::string> cases = {
      {"model", R"({"model": 42, "messages": )" + messages + "}"},
      {"messages", R"({"model": "echo", "messages": "hi"})"},
      {"temperature", R"({"model": "echo", "temperature": "hot", "messages": )" + messages + "}"},
      {"stream", R"({"model": "echo", "stream": 1, "messages": )" + messages + "}"},
      {"top_p", R"({"model": "echo", "top_p": 1e999, "messages": )" + messages + "}"},
  };
  for (const auto& [name, body] : cases) {
    SCOPED_TRACE("field: " + name);
    const Reply reply = post_chat(*client, body);
    EXPECT_EQ(reply.status, 400) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "invalid_request_error");
    EXPECT_EQ(field(error, "param"), name);
    EXPECT_NE(field(error, "message").find(name), std::string::npos) << reply;
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, UnknownModelIs404ModelNotFound) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    const Reply reply = post_chat(*client, chat_body("no-such-model", "hi", stream));
    EXPECT_EQ(reply.status, 404) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "code"), "model_not_found");
    EXPECT_EQ(field(error, "type"), "invalid_request_error");
    EXPECT_EQ(field(error, "param"), "model");
    EXPECT_NE(field(error, "message").find("no-such-model"), std::string::npos);
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, BodyLargerThanMaxBodyBytesIs413) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.max_body_bytes = 2048; });
  auto client = gateway.client();
  const std::string small = std::string(500, 'a');
  const Reply fits = post_chat(*client, chat_body("echo", small, false));
  EXPECT_EQ(fits.status, 200) << fits;
  for (const bool stream : {false, true}) {
    const Reply reply = post_chat(*client, chat_body("echo", std::string(4000, 'a'), stream));
    EXPECT_EQ(reply.status, 413) << reply;
    EXPECT_EQ(field(error_of(reply), "type"), "invalid_request_error");
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, MissingAuthorizationWithRequireClientKeyIs401) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.require_client_key = true; });
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    const Reply reply = post_chat(*client, chat_body("echo", "no key here", stream));
    EXPECT_EQ(reply.status, 401) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "authentication_error");
    EXPECT_EQ(field(error, "code"), "missing_api_key");
    expect_still_serving(gateway);  // with a key
  }
}

TEST(GatewayErrors, AuthorizationThatIsNotBearerIs401) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const std::string header : {"Basic xyz", "Token sk-abc", "Bearer", "sk-no-scheme"}) {
    SCOPED_TRACE("Authorization: " + header);
    const Reply reply =
        post_chat(*client, chat_body("echo", "hi", false), {{"Authorization", header}});
    EXPECT_EQ(reply.status, 401) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "authentication_error");
    EXPECT_EQ(field(error, "code"), "invalid_api_key");
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, BearerKeyThatIsNotAValidKeyIs401InvalidKey) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string secret = random_hex(16);
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"5000 bytes", "sk-long-" + secret + std::string(5000 - 8 - secret.size(), 'x')},
      {"a non-ASCII byte", "sk-caf\xC3\xA9-" + secret},
      {"a space inside", "sk-with " + secret},
  };
  for (const auto& [what, key] : keys) {
    for (const bool stream : {false, true}) {
      SCOPED_TRACE("a key with " + what + (stream ? ", streaming" : ""));
      const Reply reply = post_chat(*client, chat_body("echo", "hi", stream), bearer(key));
      EXPECT_EQ(reply.status, 401) << reply;
      const json::object error = error_of(reply);
      EXPECT_EQ(field(error, "type"), "authentication_error");
      EXPECT_EQ(field(error, "code"), "invalid_api_key");
      EXPECT_EQ(reply.body.find(secret), std::string::npos) << "the key is in the reply";
      expect_still_serving(gateway);
    }
  }
}

// A control character in a header value is not HTTP (RFC 9110, 5.5): the request is refused as
// malformed before anything reads its Authorization header, and the key is never echoed.
TEST(GatewayErrors, BearerKeyWithAControlCharacterIs400MalformedRequest) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string secret = random_hex(16);
  const std::string key = "sk-bad\x01" + secret;
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streaming" : "not streaming");
    const Reply reply = post_chat(*client, chat_body("echo", "hi", stream), bearer(key));
    EXPECT_EQ(reply.status, 400) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "invalid_request_error");
    EXPECT_EQ(gateway.access_log_text().find(secret), std::string::npos);
    EXPECT_EQ(reply.body.find(secret), std::string::npos) << "the key is in the reply";
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, ModelThatNeedsAKeyWithoutOneIs401) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    const Reply reply = post_chat(*client, chat_body("needs-key", "hi", stream));
    EXPECT_EQ(reply.status, 401) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "authentication_error");
    EXPECT_EQ(field(error, "code"), "missing_api_key");
    expect_still_serving(gateway);
  }
  // With a key it answers with that key's fingerprint.
  const std::string key = "sk-needs-" + random_hex(8);
  const Reply reply = post_chat(*client, chat_body("needs-key", "hi", false), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(completion_content(reply.body), "key-sha256: " + sha256_prefix(key));
}

TEST(GatewayErrors, ThrowingPluginIs500WithItsMessage) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streaming" : "not streaming");
    const Reply reply = post_chat(*client, chat_body("throws-std", "hi", stream));
    EXPECT_EQ(reply.status, 500) << reply;
    const json::object error = error_of(reply);
    EXPECT_EQ(field(error, "type"), "server_error");
    EXPECT_NE(field(error, "message").find("boom from plugin"), std::string::npos) << reply;
    expect_still_serving(gateway);

    const Reply other = post_chat(*client, chat_body("throws-other", "hi", stream));
    EXPECT_EQ(other.status, 500) << other;
    EXPECT_EQ(field(error_of(other), "type"), "server_error");
    expect_still_serving(gateway);
  }
}

TEST(GatewayErrors, PluginPuttingTheKeyInItsErrorIs500WithoutTheKey) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streaming" : "not streaming");
    const std::string key = "sk-leak-" + random_hex(16);
    const Reply reply = post_chat(*client, chat_body("key-leak", "hi", stream), bearer(key));
    EXPECT_EQ(reply.status, 500) << reply;
    EXPECT_EQ(field(error_of(reply), "type"), "server_error");
    EXPECT_EQ(reply.body.find(key), std::string::npos) << "the key is in the reply: " << reply;
    EXPECT_EQ(reply.body.find(key.substr(8)), std::string::npos) << "part of the key: " << reply;
    for (const auto& [name, value] : reply.headers) {
      EXPECT_EQ(value.find(key.substr(8)), std::string::npos) << "header " << name;
    }
    expect_still_serving(gateway);
  }
  EXPECT_EQ(gateway.access_log_text().find("sk-leak-"), std::string::npos);
}

TEST(GatewayErrors, SaturatedGatewayIs503WithRetryAfterThenServesAgain) {
  ServedGateway gateway([](serve::GatewayConfig& config) {
    config.max_concurrent = 1;
    config.max_waiting = 0;
  });
  // One slow call in flight (10 words, ~100 ms each) holds the only slot until its stream ends.
  const std::string slow_prompt = "holder two three four five six seven eight nine ten";
  std::atomic<bool> streaming{false};
  Reply slow_reply;
  std::thread holder([&] {
    auto client = gateway.client();
    slow_reply = post_chat_streaming(*client, chat_body("slow", slow_prompt, true), {},
                                     [&](const std::string&) {
                                       streaming = true;
                                       return true;
                                     });
  });
  const bool in_flight = eventually([&] { return streaming.load(); }, kEventTimeout);
  EXPECT_TRUE(in_flight) << "the slow call never started streaming";
  if (in_flight) {
    auto client = gateway.client();
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(stream ? "streaming" : "not streaming");
      const Reply refused = post_chat(*client, chat_body("echo", "one too many", stream));
      EXPECT_EQ(refused.status, 503) << refused;
      const json::object error = error_of(refused);
      EXPECT_EQ(field(error, "type"), "server_error");
      EXPECT_EQ(field(error, "code"), "overloaded");
      const std::string retry_after = refused.header("Retry-After");
      EXPECT_TRUE(std::regex_match(retry_after, std::regex("[1-9][0-9]*")))
          << "Retry-After: '" << retry_after << "'";
    }
  }
  holder.join();
  EXPECT_EQ(reply_text(slow_reply, true), slow_prompt) << "the call in flight was not disturbed";

  // The slot is free again once the stream has ended (its release may trail the last byte a
  // little): the gateway serves again.
  int attempts = 0;
  Reply reply;
  eventually(
      [&] {
        ++attempts;
        auto client = gateway.client();
        reply = post_chat(*client, chat_body("echo", "served again", false));
        return reply.status != 503;
      },
      kEventTimeout);
  EXPECT_EQ(reply.status, 200) << reply << " after " << attempts << " attempts";
  EXPECT_EQ(completion_content(reply.body), "served again");
  expect_still_serving(gateway);
}

// ---- Secrets ------------------------------------------------------------------------------------

TEST(GatewaySecrets, AccessLogHasOneLinePerRequestWithFingerprintsAndNeverAKey) {
  ServedGateway gateway([](serve::GatewayConfig& config) {
    config.max_body_bytes = 8192;
    config.max_concurrent = 1;
    config.max_waiting = 0;
  });

  struct Sent {
    std::string key;           // the whole key as sent (may be empty)
    std::string secret;        // its random part: must appear nowhere
    bool reaches_the_handler;  // a bearer key the gateway reads (its fingerprint is logged)
    Reply reply;
  };
  std::vector<Sent> sent;
  int requests = 0;
  auto new_key = [&](const std::string& prefix) {
    const std::string secret = random_hex(16);
    return std::pair{prefix + std::to_string(sent.size()) + "-" + secret, secret};
  };
  // Sends one chat request with `key` as a bearer key; retries a 503 that only reflects the slot
  // of the previous streamed call not yet released (every attempt is a request of its own).
  auto send = [&](const std::string& body, const std::pair<std::string, std::string>& key,
                  bool reaches_the_handler = true, int expected_status = 200,
                  const std::string& authorization = "") {
    Reply reply;
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto client = gateway.client();
      httplib::Headers headers;
      if (!authorization.empty()) {
        headers.emplace("Authorization", authorization);
      } else if (!key.first.empty()) {
        headers = bearer(key.first);
      }
      reply = post_chat(*client, body, headers);
      ++requests;
      if (reply.status != 503 || expected_status == 503) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(reply.status, expected_status) << reply;
    sent.push_back({key.first, key.second, reaches_the_handler, reply});
    return reply;
  };

  send(chat_body("echo", "plain", false), new_key("sk-secret-"));
  send(chat_body("echo", "streamed words", true), new_key("sk-secret-"));
  send(chat_body("echo", "ignored temperature", false, {{"temperature", 0.2}}),
       new_key("sk-secret-"));
  send(R"({"model": "echo", "messages": [)", new_key("sk-secret-"), true, 400);
  send(R"({"model": 42, "messages": []})", new_key("sk-secret-"), true, 400);
  send(chat_body("no-such-model", "hi", false), new_key("sk-secret-"), true, 404);
  send(chat_body("echo", std::string(9000, 'b'), false), new_key("sk-secret-"), false, 413);
  {
    const auto basic = new_key("dXNlcjpzZWNyZXQ-");
    send(chat_body("echo", "hi", false), basic, false, 401, "Basic " + basic.first);
  }
  {
    auto long_key = new_key("sk-long-");
    long_key.first += std::string(5000 - long_key.first.size(), 'y');
    send(chat_body("echo", "hi", false), long_key, true, 401);
  }
  {
    auto odd_key = new_key("sk-caf\xC3\xA9-");
    send(chat_body("echo", "hi", true), odd_key, true, 401);
  }
  send(chat_body("needs-key", "hi", false), new_key("sk-secret-"));
  send(chat_body("needs-key", "hi", true), {"", ""}, false, 401);
  send(chat_body("key-leak", "hi", false), new_key("sk-secret-"), true, 500);
  send(chat_body("key-leak", "hi", true), new_key("sk-secret-"), true, 500);
  send(chat_body("throws-std", "hi", false), new_key("sk-secret-"), true, 500);
  send(chat_body("legacy-echo", "old plugin", false), new_key("sk-secret-"));
  send(chat_body("legacy-echo", "old plugin streamed", true), new_key("sk-secret-"));
  {
    // Saturated: a slow streamed call holds the only slot; the next call gets 503.
    const auto holder_key = new_key("sk-secret-");
    std::atomic<bool> streaming{false};
    Reply holder_reply;
    std::thread holder([&] {
      auto client = gateway.client();
      holder_reply = post_chat_streaming(
          *client, chat_body("slow", "hold the slot for a second or so, ten words", true),
          bearer(holder_key.first), [&](const std::string&) {
            streaming = true;
            return true;
          });
    });
    EXPECT_TRUE(eventually([&] { return streaming.load(); }, kEventTimeout));
    send(chat_body("echo", "refused", false), new_key("sk-secret-"), true, 503);
    holder.join();
    ++requests;
    EXPECT_EQ(holder_reply.status, 200) << holder_reply;
    sent.push_back({holder_key.first, holder_key.second, true, holder_reply});
  }
  {
    auto client = gateway.client();
    const auto models_key = new_key("sk-secret-");
    sent.push_back({models_key.first, models_key.second, false,
                    to_reply(client->Get("/v1/models", bearer(models_key.first)))});
    const auto route_key = new_key("sk-secret-");
    sent.push_back({route_key.first, route_key.second, false,
                    to_reply(client->Get("/v1/nowhere", bearer(route_key.first)))});
    requests += 2;
  }

  // Nothing the client got back holds a key, or any part of one.
  for (const Sent& request : sent) {
    if (request.key.empty()) continue;
    SCOPED_TRACE("key " + request.key.substr(0, 40));
    EXPECT_NE(request.reply.status, 0) << request.reply;
    EXPECT_EQ(request.reply.body.find(request.secret), std::string::npos) << request.reply;
    for (const auto& [name, value] : request.reply.headers) {
      EXPECT_EQ(name.find(request.secret), std::string::npos);
      EXPECT_EQ(value.find(request.secret), std::string::npos) << "header " << name;
    }
  }

  // The access log: one well-formed line per request (GET /healthz aside), fingerprints only.
  const std::string log = gateway.access_log_with(requests);
  std::vector<std::string> lines;
  for (const std::string& line : lines_of(log)) {
    if (line.find(" /healthz ") == std::string::npos) lines.push_back(line);
  }
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(requests)) << log;
  const std::regex shape(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (GET|POST) /\S* model=\S+ status=\d{3} )"
      R"(duration_ms=\d+(\.\d+)? key=(-|sha256:[0-9a-f]{12}) key_version=\S+ stream=[01])");
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_match(line, shape)) << "access log line: " << line;
  }
  for (const Sent& request : sent) {
    if (request.key.empty()) continue;
    SCOPED_TRACE("key " + request.key.substr(0, 40));
    EXPECT_EQ(log.find(request.secret), std::string::npos) << "a key is in the access log";
    if (request.reaches_the_handler) {
      EXPECT_NE(log.find("key=sha256:" + sha256_prefix(request.key) + " "), std::string::npos)
          << "no line with this key's fingerprint";
    }
  }
}

// An access log on a slow disk: each write waits `delay` before the line is kept (fopencookie).
class SlowLogFile {
 public:
  explicit SlowLogFile(std::chrono::milliseconds delay) : delay_(delay) {
    file_ = ::fopencookie(this, "w", {nullptr, &SlowLogFile::write, nullptr, nullptr});
    if (file_ == nullptr) throw std::runtime_error("fopencookie failed");
    std::setvbuf(file_, nullptr, _IONBF, 0);
  }
  ~SlowLogFile() { std::fclose(file_); }
  SlowLogFile(const SlowLogFile&) = delete;
  SlowLogFile& operator=(const SlowLogFile&) = delete;

  std::FILE* file() const { return file_; }
  std::size_t lines_with(std::string_view text) const {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const std::string& line : lines_of(text_)) count += line.find(text) != std::string::npos;
    return count;
  }

 private:
  static ssize_t write(void* cookie, const char* data, std::size_t size) {
    auto* self = static_cast<SlowLogFile*>(cookie);
    std::this_thread::sleep_for(self->delay_);
    std::lock_guard lock(self->mutex_);
    self->text_.append(data, size);
    return static_cast<ssize_t>(size);
  }

  const std::chrono::milliseconds delay_;
  std::FILE* file_ = nullptr;
  mutable std::mutex mutex_;
  std::string text_;
};

// A chat request's access-log line is written before its answer goes out, however it ends: a
// client that has its answer finds its line, and requests sent in turn are logged in turn.
TEST(GatewayLogs, AChatRequestIsLoggedBeforeItsAnswerGoesOut) {
  SlowLogFile log(std::chrono::milliseconds(kThreadSanitizer ? 200 : 50));
  ServedGateway gateway([&](serve::GatewayConfig& config) { config.access_log = log.file(); });
  auto client = gateway.client();
  const std::vector<std::pair<std::string, int>> requests = {
      {chat_body("echo", "first", false), 200},
      {chat_body("echo", "second", true), 200},
      {chat_body("no-such-model", "third", false), 404},
      {chat_body("throws-std", "fourth", false), 500},
      {chat_body("throws-std", "fifth", true), 500},
  };
  std::size_t sent = 0;
  for (const auto& [body, status] : requests) {
    const Reply reply = post_chat(*client, body, bearer("sk-logged-" + random_hex(8)));
    ++sent;
    EXPECT_EQ(reply.status, status) << body << "\n" << reply;
    EXPECT_EQ(log.lines_with("POST /v1/chat/completions"), sent) << body;
  }
}

// A client whose base URL holds its key (GET /v1/sk-.../models) finds the key neither in its 404
// nor in the access log.
TEST(GatewaySecrets, AKeyInARequestPathIsNotLogged) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string key = "sk-proj-InPath" + random_hex(16) + "Q7";
  const auto reply = client->Get("/v1/" + key + "/models?key=" + key);
  ASSERT_TRUE(reply) << httplib::to_string(reply.error());
  EXPECT_EQ(reply->status, 404);
  EXPECT_EQ(reply->body.find(key), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find("/v1/[key-like]/models"), std::string::npos) << reply->body;
  const std::string log = gateway.access_log_with(1);
  EXPECT_EQ(log.find(key), std::string::npos) << log;
  EXPECT_NE(log.find(" /v1/[key-like]/models "), std::string::npos) << log;
}

TEST(GatewaySecrets, AClientCannotForgeAccessLogLines) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string forged =
      "2030-01-01T00:00:00Z POST /v1/chat/completions model=echo status=200 duration_ms=1.00 "
      "key=sha256:000000000000 stream=0";
  const Reply unknown_model = post_chat(*client, chat_body("nope\n" + forged, "hi", false));
  EXPECT_EQ(unknown_model.status, 404) << unknown_model;
  const Reply unknown_route = to_reply(client->Get("/nope%0A" + forged.substr(0, 20)));
  EXPECT_EQ(unknown_route.status, 404) << unknown_route;
  const std::string log = gateway.access_log_with(2);
  std::size_t chat_and_route_lines = 0;
  for (const auto& line : lines_of(log)) {
    if (line.find(" /healthz ") == std::string::npos) ++chat_and_route_lines;
  }
  EXPECT_EQ(chat_and_route_lines, 2u) << "one line per request, whatever the client sent:\n" << log;
}

// ---- Legacy models and parameters ---------------------------------------------------------------

TEST(GatewayLegacy, LegacyModelWithABearerKeyAnswersWithAWarning) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string key = "sk-legacy-" + random_hex(12);
  const std::string prompt = "A v1 plugin, before keys existed";
  const Reply reply = post_chat(*client, chat_body("legacy-echo", prompt, false), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(completion_content(reply.body), prompt) << "exactly the prompt, no key line";
  EXPECT_TRUE(reply.has_header("X-Llmrt-Warning"));
  EXPECT_FALSE(reply.header("X-Llmrt-Warning").empty());
  EXPECT_EQ(reply.header("X-Llmrt-Warning").find(key), std::string::npos);
  EXPECT_EQ(reply.body.find(key), std::string::npos);
}

TEST(GatewayLegacy, LegacyModelWithABearerKeyWarnsWhenStreamingToo) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string key = "sk-legacy-" + random_hex(12);
  const std::string prompt = "A v1 plugin, streamed";
  const Reply reply = post_chat(*client, chat_body("legacy-echo", prompt, true), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply_text(reply, true), prompt);
  EXPECT_TRUE(reply.has_header("X-Llmrt-Warning"));
}

TEST(GatewayLegacy, ParametersTheModelDoesNotDeclareAreReportedAsIgnored) {
  ServedGateway gateway;
  auto client = gateway.client();
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streaming" : "not streaming");
    const std::string prompt = "sampling does not apply";
    const Reply reply = post_chat(
        *client, chat_body("echo", prompt, stream, {{"temperature", 0.7}, {"top_p", 0.5}}));
    ASSERT_EQ(reply.status, 200) << reply;
    EXPECT_EQ(reply_text(reply, stream), prompt);
    const std::string ignored = reply.header("X-Llmrt-Ignored-Parameters");
    EXPECT_NE(ignored.find("temperature"), std::string::npos) << "'" << ignored << "'";
    EXPECT_NE(ignored.find("top_p"), std::string::npos) << "'" << ignored << "'";
  }
  // Nothing ignored: no header.
  const Reply plain = post_chat(*client, chat_body("echo", "plain", false));
  ASSERT_EQ(plain.status, 200) << plain;
  EXPECT_FALSE(plain.has_header("X-Llmrt-Ignored-Parameters"));
}

// ---- Client disconnect --------------------------------------------------------------------------

TEST(GatewayDisconnect, ClientLeavingMidStreamCancelsTheCallAndTheServerKeepsServing) {
  ServedGateway gateway;
  // 60 words at ~100 ms each: 6 s if nobody stops it.
  std::string prompt = "leaver";
  for (int i = 0; i < 59; ++i) prompt += " word" + std::to_string(i);
  const std::string key = "sk-leaver-" + random_hex(12);
  {
    auto client = gateway.client();
    // Read up to the first complete event, then drop the connection.
    const Reply reply = post_chat_streaming(
        *client, chat_body("slow", prompt, true), bearer(key),
        [](const std::string& so_far) { return so_far.find("\n\n") == std::string::npos; });
    EXPECT_EQ(reply.status, 200) << reply;
    EXPECT_NE(reply.body.find("leaver"), std::string::npos) << reply.body;
    EXPECT_FALSE(reply.transport_error.empty()) << "the client did not hang up";
  }
  const bool cancelled = eventually(
      [&] { return gateway.slow_events().find("cancelled leaver") != std::string::npos; },
      kEventTimeout);
  EXPECT_TRUE(cancelled) << "the model call was not stopped; events:\n" << gateway.slow_events();
  EXPECT_EQ(gateway.slow_events().find("finished leaver"), std::string::npos);

  expect_still_serving(gateway);
  auto client = gateway.client();
  const Reply again = post_chat(*client, chat_body("slow", "after the leaver", true));
  EXPECT_EQ(reply_text(again, true), "after the leaver");
  EXPECT_EQ(gateway.access_log_text().find(key), std::string::npos);
}

// ---- Loopback only ------------------------------------------------------------------------------

TEST(GatewayLoopback, DefaultConfigListensOnLoopbackOnly) {
  EXPECT_EQ(serve::GatewayConfig{}.host, "127.0.0.1");
  ServedGateway gateway;  // the default host
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, "%04X", gateway.port());
  std::vector<std::string> listeners;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    const std::vector<std::string> lines = lines_of(read_file(table));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      std::istringstream columns(lines[i]);
      std::string slot, local, remote, state;
      columns >> slot >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || local.substr(colon + 1) != port_hex) continue;
      if (state == "0A") listeners.push_back(std::string(table) + " " + local);
    }
  }
  ASSERT_EQ(listeners.size(), 1u) << "listening sockets on the port: " << listeners.size();
  EXPECT_EQ(listeners[0], std::string("/proc/net/tcp 0100007F:") + port_hex);
}

// ---- Lifecycle ----------------------------------------------------------------------------------

// `llmrt serve` calls stop() from a signal watcher that starts after bind() and before serve(): a
// SIGTERM in that window must still end serve().
TEST(GatewayLifecycle, StopBeforeServeStillEndsServe) {
  TempDir temp;
  FakeEnvironment environment;
  Runtime runtime(isolated_config(temp.path() / "user", environment));
  serve::GatewayConfig config;
  config.port = 0;
  config.access_log = nullptr;
  serve::Gateway gateway(runtime, config);
  gateway.bind();
  gateway.stop();
  std::atomic<bool> returned{false};
  std::thread server([&] {
    gateway.serve();
    returned = true;
  });
  const bool returned_promptly = eventually([&] { return returned.load(); }, 2s);
  if (!returned_promptly) gateway.stop();  // serve() is running by now: this one is not lost
  server.join();
  EXPECT_TRUE(returned_promptly) << "serve() ignored a stop() that came before it";
}

}  // namespace
}  // namespace llmrt::test::serve_test
