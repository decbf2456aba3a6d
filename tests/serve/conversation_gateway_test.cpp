// Conversations, usage and server-side failures through the gateway (issue 11, gateway part): the
// whole `messages` array reaching a model that reads conversations (echo says how many turns it
// saw), a model that does not getting the last turn and a warning, `usage` in replies and in the
// stream's last chunk, token counts in the audit log and `llmrt audit`'s sums, the official OpenAI
// client in a multi-turn chat, and server-side failures answered without their details.
#include <sys/stat.h>

#include <numeric>

#include "fake_openai_server.hpp"
#include "gateway_test_support.hpp"
#include "run_cli.hpp"

namespace llmrt::test::serve_test {
namespace {

std::int64_t words(std::string_view text) {
  std::int64_t count = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++count;
    in_word = !space;
  }
  return count;
}

json::object message(std::string_view role, std::string_view content) {
  return {{"role", role}, {"content", content}};
}

// system, user, assistant, user: a two-turn history and a prompt.
json::array two_turns() {
  return {message("system", "be brief"), message("user", "first question"),
          message("assistant", "first answer"), message("user", "second question")};
}

std::string body_of(std::string_view model, const json::array& messages, bool stream,
                    const json::object& extra = {}) {
  json::object body{{"model", model}, {"messages", messages}, {"stream", stream}};
  for (const auto& [name, value] : extra) body[name] = value;
  return json::serialize(body);
}

json::object parsed(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text.substr(0, 500);
    return {};
  }
  return value.as_object();
}

// {"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
json::object usage_of(std::int64_t in, std::int64_t out) {
  return {{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}};
}

// Words echo reads for two_turns(): system, both earlier turns and the prompt.
constexpr std::int64_t kTwoTurnWordsIn = 2 + 2 + 2 + 2;

TEST(GatewayConversation, EchoGetsEveryTurnAndTheSystemPromptWithUsage) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string key = "sk-conv-" + random_hex(12);
  const Reply reply = post_chat(*client, body_of("echo", two_turns(), false), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  const std::string expected =
      "[system: be brief]\n[history: 2 turns]\n" + echo_reply("second question", key);
  EXPECT_EQ(completion_content(reply.body), expected);
  EXPECT_FALSE(reply.has_header("X-Llmrt-Warning")) << reply.header("X-Llmrt-Warning");
  const json::object body = parsed(reply.body);
  ASSERT_TRUE(body.contains("usage")) << reply.body;
  EXPECT_EQ(body.at("usage"), json::value(usage_of(kTwoTurnWordsIn, words(expected))));
  EXPECT_EQ(reply.body.find(key), std::string::npos);
}

// The openai plugin declares "messages": it gets the array as the client sent it, every role and
// field included, and relays it upstream unchanged.
TEST(GatewayConversation, AModelThatTakesMessagesGetsThemAsSent) {
  FakeOpenAiServer upstream;
  // Read by the plugin itself; set before the Runtime (and so any worker process) exists.
  ::setenv("OPENAI_BASE_URL", upstream.base_url().c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("OPENAI_BASE_URL"); }
  } unset;
  ServedGateway gateway;
  auto client = gateway.client();
  json::array messages = two_turns();
  messages.insert(messages.begin() + 2,
                  json::object{{"role", "user"}, {"content", "extra turn"}, {"name", "ann"}});
  const std::string key = "sk-relay-" + random_hex(12);
  const Reply reply = post_chat(*client, body_of("gpt-4o", messages, false), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(completion_content(reply.body), "echo: second question");
  const std::vector<FakeOpenAiRequest> received = upstream.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(parsed(received[0].body).at("messages"), json::value(messages)) << received[0].body;
}

TEST(GatewayConversation, StreamEndsWithAUsageChunkWhenAskedAndOnlyThen) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string key = "sk-conv-" + random_hex(12);
  const std::string expected =
      "[system: be brief]\n[history: 2 turns]\n" + echo_reply("second question", key);
  const json::object ask{{"stream_options", json::object{{"include_usage", true}}}};
  const Reply reply = post_chat(*client, body_of("echo", two_turns(), true, ask), bearer(key));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(reply_text(reply, true), expected);
  const SseStream sse = parse_sse(reply.body);
  ASSERT_GE(sse.chunks.size(), 2u);
  const json::object& last = sse.chunks.back();
  EXPECT_EQ(last.at("choices"), json::value(json::array{})) << json::serialize(last);
  EXPECT_EQ(last.at("usage"), json::value(usage_of(kTwoTurnWordsIn, words(expected))));
  for (std::size_t i = 0; i + 1 < sse.chunks.size(); ++i) {  // OpenAI's shape: null before it
    EXPECT_TRUE(sse.chunks[i].contains("usage") && sse.chunks[i].at("usage").is_null())
        << json::serialize(sse.chunks[i]);
  }
  EXPECT_EQ(reply.body.find(key), std::string::npos);

  const Reply plain = post_chat(*client, body_of("echo", two_turns(), true), bearer(key));
  ASSERT_EQ(plain.status, 200) << plain;
  EXPECT_EQ(reply_text(plain, true), expected);
  for (const json::object& chunk : parse_sse(plain.body).chunks) {
    EXPECT_FALSE(chunk.contains("usage")) << json::serialize(chunk);
    EXPECT_FALSE(chunk.at("choices").as_array().empty()) << json::serialize(chunk);
  }
}

TEST(GatewayConversation, LegacyModelGetsTheLastTurnAndAWarning) {
  ServedGateway gateway;
  auto client = gateway.client();
  const std::string warning =
      "model 'legacy-echo' does not read conversations: the system prompt and 2 earlier turns "
      "were not sent, only the last prompt";
  const Reply reply = post_chat(*client, body_of("legacy-echo", two_turns(), false));
  ASSERT_EQ(reply.status, 200) << reply;
  EXPECT_EQ(completion_content(reply.body), "second question");
  EXPECT_EQ(reply.header("X-Llmrt-Warning"), warning);
  EXPECT_FALSE(parsed(reply.body).contains("usage")) << reply.body;  // it reported none

  // A stream's headers go out before the call ends: the same warning, known in advance, and no
  // second copy of it at the end.
  const json::object ask{{"stream_options", json::object{{"include_usage", true}}}};
  const Reply streamed = post_chat(*client, body_of("legacy-echo", two_turns(), true, ask));
  ASSERT_EQ(streamed.status, 200) << streamed;
  EXPECT_EQ(reply_text(streamed, true), "second question");
  EXPECT_EQ(streamed.header("X-Llmrt-Warning"), warning);
  EXPECT_EQ(streamed.body.find(": llmrt-warning:"), std::string::npos) << streamed.body;
  const SseStream sse = parse_sse(streamed.body);
  ASSERT_FALSE(sse.chunks.empty());
  EXPECT_TRUE(sse.chunks.back().at("usage").is_null()) << json::serialize(sse.chunks.back());

  // One user message and nothing else: nothing is lost, nothing to warn of.
  const Reply single = post_chat(*client, chat_body("legacy-echo", "alone", false));
  ASSERT_EQ(single.status, 200) << single;
  EXPECT_FALSE(single.has_header("X-Llmrt-Warning")) << single.header("X-Llmrt-Warning");
}

TEST(GatewayConversation, WhatIsNotAConversationGetsASpecific400) {
  ServedGateway gateway;
  auto client = gateway.client();
  const json::array with_tool{message("user", "hi"), message("tool", "42"),
                              message("user", "and?")};
  Reply reply = post_chat(*client, body_of("echo", with_tool, false));
  ASSERT_EQ(reply.status, 400) << reply;
  json::object error = error_of(reply);
  EXPECT_EQ(field(error, "param"), "messages[1].role");
  EXPECT_NE(field(error, "message").find("'tool'"), std::string::npos) << reply;

  const json::array after_last{message("user", "hi"), message("assistant", "prefilled")};
  reply = post_chat(*client, body_of("echo", after_last, false));
  ASSERT_EQ(reply.status, 400) << reply;
  EXPECT_EQ(field(error_of(reply), "param"), "messages[1]");

  reply = post_chat(*client, body_of("echo", two_turns(), false,
                                     {{"stream_options", json::object{{"include_usage", true}}}}));
  ASSERT_EQ(reply.status, 400) << reply;
  EXPECT_EQ(field(error_of(reply), "param"), "stream_options");
  reply = post_chat(*client, body_of("echo", two_turns(), true,
                                     {{"stream_options", json::object{{"include_usage", "yes"}}}}));
  ASSERT_EQ(reply.status, 400) << reply;
  EXPECT_EQ(field(error_of(reply), "param"), "stream_options.include_usage");
  expect_still_serving(gateway);
}

// A gateway without session keys, whose own keys file is broken: the client (anyone) gets a
// generic 500 with the request id; the path and the parser's words go to the operator's log.
TEST(GatewayServerSideFailure, DetailsGoToTheOperatorNotTheClient) {
  TempDir logs;
  const std::filesystem::path warnings_path = logs.path() / "warnings.log";
  std::FILE* warnings = std::fopen(warnings_path.c_str(), "w");
  ASSERT_NE(warnings, nullptr);
  {
    ServedGateway gateway([&](serve::GatewayConfig& config) { config.warning_log = warnings; });
    auto client = gateway.client();
    // Before the keys file breaks: a key a model needs is the client's business (a specific 401
    // that names no file of the operator's), and so is an unknown model.
    const Reply missing = post_chat(*client, chat_body("needs-key", "hi", false));
    ASSERT_EQ(missing.status, 401) << missing;
    const json::object missing_error = error_of(missing);
    EXPECT_EQ(field(missing_error, "code"), "missing_api_key");
    EXPECT_NE(field(missing_error, "message").find("needs-key"), std::string::npos) << missing;
    EXPECT_EQ(missing.body.find(gateway.temp().string()), std::string::npos) << missing;
    EXPECT_EQ(missing.body.find("keys.json"), std::string::npos) << missing;
    const Reply unknown = post_chat(*client, chat_body("no-such-model", "hi", false));
    EXPECT_EQ(unknown.status, 404) << unknown;
    EXPECT_NE(unknown.body.find("no-such-model"), std::string::npos) << unknown;
    const std::filesystem::path keys_path = gateway.runtime().keys_file_path();
    std::filesystem::create_directories(keys_path.parent_path());
    {
      std::ofstream out(keys_path);
      out << "{\"echo\": \"sk-broken";  // cut short
    }
    ::chmod(keys_path.c_str(), 0600);
    // Written behind the runtime's back: make sure its keys file cache has been told.
    gateway.runtime().keys_file().catch_up();
    for (const bool stream : {false, true}) {
      const Reply reply = post_chat(*client, chat_body("echo", "no key sent", stream));
      ASSERT_EQ(reply.status, 500) << reply;
      const json::object error = error_of(reply);
      EXPECT_EQ(field(error, "type"), "server_error");
      EXPECT_EQ(field(error, "code"), "internal_error");
      const std::string request_id = reply.header("X-Request-Id");
      ASSERT_FALSE(request_id.empty());
      EXPECT_NE(field(error, "message").find(request_id), std::string::npos) << reply;
      for (const std::string& detail : {keys_path.string(), std::string("keys.json"),
                                        gateway.temp().string(), std::string("sk-broken")}) {
        EXPECT_EQ(reply.body.find(detail), std::string::npos) << detail << " in " << reply;
      }
      std::fflush(warnings);
      const std::string operator_log = read_file(warnings_path);
      EXPECT_NE(operator_log.find(request_id), std::string::npos) << operator_log;
      EXPECT_NE(operator_log.find(keys_path.string()), std::string::npos) << operator_log;
      EXPECT_EQ(operator_log.find("sk-broken"), std::string::npos) << operator_log;
    }
  }
  std::fclose(warnings);
}

// Every call's tokens in its audit line; `llmrt audit` sums them per tenant and fingerprint.
TEST(GatewayAuditUsage, TokensPerCallAndTheirSums) {
  TempDir dir;
  const std::filesystem::path audit_path = dir.path() / "audit.log";
  const std::string key_a = "sk-tenant-a-" + random_hex(12);
  const std::string key_b = "sk-tenant-b-" + random_hex(12);
  std::map<std::string, std::int64_t> in_by_key;
  std::map<std::string, std::int64_t> out_by_key;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_request;
  std::string printed;
  {
    ServedGateway gateway([&](serve::GatewayConfig& config) {
      config.audit_log_file = audit_path;
      config.warning_log = nullptr;
    });
    auto client = gateway.client();
    const std::vector<std::pair<std::string, std::string>> calls{
        {key_a, "one two three"}, {key_a, "four"}, {key_b, "five six"}, {key_a, "seven eight"}};
    bool stream = false;
    for (const auto& [key, prompt] : calls) {
      const json::array messages{message("user", "earlier words here"),
                                 message("assistant", "a reply"), message("user", prompt)};
      const Reply reply = post_chat(
          *client,
          body_of("echo", messages, stream,
                  stream ? json::object{{"stream_options", json::object{{"include_usage", true}}}}
                         : json::object{}),
          bearer(key));
      ASSERT_EQ(reply.status, 200) << reply;
      printed += reply.body;
      const std::string text = reply_text(reply, stream);
      const std::int64_t in = 3 + 2 + words(prompt);
      const std::int64_t out = words(text);
      const json::object usage = stream
                                     ? parse_sse(reply.body).chunks.back().at("usage").as_object()
                                     : parsed(reply.body).at("usage").as_object();
      EXPECT_EQ(json::value(usage), json::value(usage_of(in, out)));
      in_by_key[key] += in;
      out_by_key[key] += out;
      by_request[reply.header("X-Request-Id")] = {in, out};
      stream = !stream;
    }
    const Reply refused = post_chat(*client, chat_body("no-such-model", "x", false), bearer(key_b));
    ASSERT_EQ(refused.status, 404) << refused;
    by_request[refused.header("X-Request-Id")] = {-1, -1};
  }
  const std::string audit_text = read_file(audit_path);
  std::size_t lines = 0;
  for (const std::string& line : lines_of(audit_text)) {
    const json::object event = parsed(line);
    const auto expected = by_request.at(std::string(event.at("request_id").as_string()));
    if (expected.first < 0) {
      EXPECT_TRUE(event.at("input_tokens").is_null()) << line;
      EXPECT_TRUE(event.at("output_tokens").is_null()) << line;
    } else {
      EXPECT_EQ(event.at("input_tokens").as_int64(), expected.first) << line;
      EXPECT_EQ(event.at("output_tokens").as_int64(), expected.second) << line;
    }
    ++lines;
  }
  EXPECT_EQ(lines, by_request.size());

  CliRunner cli;
  const CliResult json_result = cli.run({"audit", audit_path.string(), "--json"});
  ASSERT_EQ(json_result.exit_code, 0) << json_result.err;
  const json::object summary = parsed(json_result.out);
  std::int64_t all_in = 0;
  std::int64_t all_out = 0;
  for (const auto& [key, in] : in_by_key) all_in += in;
  for (const auto& [key, out] : out_by_key) all_out += out;
  ASSERT_EQ(summary.at("tenants").as_array().size(), 1u);
  const json::object& no_tenant = summary.at("tenants").as_array()[0].as_object();
  EXPECT_TRUE(no_tenant.at("tenant").is_null());
  EXPECT_EQ(no_tenant.at("requests").as_int64(), 5);
  EXPECT_EQ(no_tenant.at("calls_with_usage").as_int64(), 4);
  EXPECT_EQ(no_tenant.at("input_tokens").as_int64(), all_in);
  EXPECT_EQ(no_tenant.at("output_tokens").as_int64(), all_out);
  EXPECT_EQ(no_tenant.at("total_tokens").as_int64(), all_in + all_out);
  // Two fingerprints (the audit key is the gateway's own): told apart by their request counts.
  const json::array& fingerprints = summary.at("fingerprints").as_array();
  ASSERT_EQ(fingerprints.size(), 2u) << json_result.out;
  for (const json::value& entry : fingerprints) {
    const json::object& object = entry.as_object();
    const std::string& key = object.at("requests").as_int64() == 3 ? key_a : key_b;
    EXPECT_EQ(object.at("input_tokens").as_int64(), in_by_key[key]) << json_result.out;
    EXPECT_EQ(object.at("output_tokens").as_int64(), out_by_key[key]) << json_result.out;
  }
  const CliResult text_result = cli.run({"audit", audit_path.string()});
  ASSERT_EQ(text_result.exit_code, 0) << text_result.err;
  EXPECT_NE(text_result.out.find("IN TOKENS"), std::string::npos) << text_result.out;
  EXPECT_NE(text_result.out.find(" " + std::to_string(all_in) + " "), std::string::npos)
      << text_result.out;
  EXPECT_NE(text_result.out.find(" " + std::to_string(all_out) + " "), std::string::npos)
      << text_result.out;
  for (const std::string& key : {key_a, key_b}) {
    for (const std::string& text :
         {audit_text, json_result.out, json_result.err, text_result.out, printed}) {
      EXPECT_EQ(text.find(key), std::string::npos);
    }
  }
}

// The official OpenAI client (node's `openai`, installed by scripts/bootstrap.sh test): three
// turns, the last streamed with usage. Skips where node or the package is missing.
TEST(GatewayOpenAiClient, MultiTurnChatWithUsage) {
  const std::filesystem::path dir =
      std::filesystem::path(LLMRT_SOURCE_DIR) / "tests/serve/openai_node";
  if (!std::filesystem::exists(dir / "node_modules/openai/package.json")) {
    GTEST_SKIP() << "node's openai package is not installed (scripts/bootstrap.sh test does it)";
  }
  CliRunner probe;
  probe.set_prefix({"/bin/sh", "-c", "command -v node"});
  if (probe.run({}).exit_code != 0) GTEST_SKIP() << "node is not on PATH";

  ServedGateway gateway;
  const std::string key = "sk-node-" + random_hex(12);
  CliRunner node;
  node.set_env("LLMRT_TEST_KEY", key);
  node.set_prefix({"/bin/sh", "-c", "exec node \"$1\" \"$2\"", "sh",
                   (dir / "multi_turn.cjs").string(), std::to_string(gateway.port())});
  const CliResult result = node.run({});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const std::string& text : {result.out, result.err, gateway.access_log_text()}) {
    EXPECT_EQ(text.find(key), std::string::npos);
  }
  const json::object out = parsed(result.out);
  const json::array& turns = out.at("turns").as_array();
  ASSERT_EQ(turns.size(), 3u);
  const std::vector<std::string> expected{
      "[system: answer briefly]\n" + echo_reply("first question here", key),
      "[system: answer briefly]\n[history: 2 turns]\n" + echo_reply("second question", key),
      "[system: answer briefly]\n[history: 4 turns]\n" +
          echo_reply("third question streamed", key)};
  std::int64_t history_words = 0;
  std::vector<std::string> prompts{"first question here", "second question",
                                   "third question streamed"};
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const json::object& turn = turns[i].as_object();
    EXPECT_EQ(turn.at("content").as_string(), expected[i]);
    const std::int64_t in = 2 + history_words + words(prompts[i]);
    EXPECT_EQ(turn.at("usage"), json::value(usage_of(in, words(expected[i])))) << i;
    history_words += words(prompts[i]) + words(expected[i]);
  }
}

}  // namespace
}  // namespace llmrt::test::serve_test
