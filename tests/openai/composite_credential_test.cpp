// A composite credential (ABI 2.1: key + session token + expiry) through the openai plugin: the
// token goes in the header the model's config names, on that call's request only; a credential
// written by a 2.0 host (without the token fields) still works and sends no token.
#include <gtest/gtest.h>
#include <llmrt/plugin.h>

#include <boost/json.hpp>
#include <fstream>

#include <llmrt/llmrt.hpp>

#include "fake_openai_server.hpp"
#include "model_binding.hpp"
#include "plugin_library.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;

struct Collected {
  std::string text;
  std::string error;
  static int write(void* self, const char* data, std::size_t size) {
    static_cast<Collected*>(self)->text.append(data, size);
    return 0;
  }
  static void fail(void* self, const char* data, std::size_t size) {
    static_cast<Collected*>(self)->error.assign(data, size);
  }
  static int never_stop(void*) { return 0; }
};

class CompositeCredential : public ::testing::Test {
 protected:
  void SetUp() override {
    json::array models;
    models.push_back({{"id", "gateway-model"},
                      {"model", "fake-model"},
                      {"api_base", server_.base_url()},
                      {"session_token_header", "X-Session-Token"}});
    models.push_back(
        {{"id", "plain-model"}, {"model", "fake-model"}, {"api_base", server_.base_url()}});
    std::ofstream(user_.path() / "openai-models.json") << json::serialize(models);
    loaded_ = load_plugin(kBundledPluginDir / "openai.so", HostIdentity{user_.path().string()});
  }

  const ModelBinding& model(const std::string& id) const {
    for (const auto& binding : loaded_.models) {
      if (binding->info().id == id) return *binding;
    }
    throw std::runtime_error("no model " + id);
  }

  // Calls `id` with `credential` and returns what the upstream recorded for that call.
  FakeOpenAiRequest call(const std::string& id, const llmrt_credential& credential,
                         const std::string& text) {
    Collected collected;
    const llmrt_sink sink = {sizeof(llmrt_sink), &collected, &Collected::write, &Collected::fail,
                             &Collected::never_stop};
    const llmrt_prompt prompt = {sizeof(llmrt_prompt), 0, {text.data(), text.size()}, {"{}", 2}};
    EXPECT_EQ(model(id).call(prompt, &credential, sink), LLMRT_OK) << collected.error;
    EXPECT_EQ(collected.text, "echo: " + text);
    for (const auto& request : server_.requests()) {
      if (request.user_message == text) return request;
    }
    ADD_FAILURE() << "the upstream saw no request for " << text;
    return {};
  }

  FakeOpenAiServer server_;
  TempDir user_;
  LoadedPlugin loaded_;
};

TEST_F(CompositeCredential, SessionTokenGoesInTheConfiguredHeaderBesideTheKey) {
  const llmrt_credential credential = {sizeof(llmrt_credential),
                                       {"sk-composite-1", 14},
                                       {"session-token-abc", 17},
                                       4102444800 /* 2100-01-01 */};
  const FakeOpenAiRequest seen = call("gateway-model", credential, "with a token");
  EXPECT_EQ(seen.authorization.value_or(""), "Bearer sk-composite-1");
  ASSERT_TRUE(seen.headers.count("X-Session-Token"));
  EXPECT_EQ(seen.headers.at("X-Session-Token"), "session-token-abc");
}

TEST_F(CompositeCredential, ModelWithoutATokenHeaderNeverSendsTheToken) {
  const llmrt_credential credential = {
      sizeof(llmrt_credential), {"sk-composite-2", 14}, {"session-token-def", 17}, 0};
  const FakeOpenAiRequest seen = call("plain-model", credential, "no header configured");
  EXPECT_EQ(seen.authorization.value_or(""), "Bearer sk-composite-2");
  for (const auto& [name, value] : seen.headers) {
    EXPECT_EQ(value.find("session-token-def"), std::string::npos) << name;
  }
  EXPECT_EQ(seen.body.find("session-token-def"), std::string::npos);
}

TEST_F(CompositeCredential, CredentialFromA20HostHasNoTokenAndStillWorks) {
  // A 2.0 host wrote only struct_size and key; the bytes after them are not the plugin's to read.
  llmrt_credential credential = {offsetof(llmrt_credential, session_token),
                                 {"sk-old-host", 11},
                                 {"garbage-the-plugin-must-not-read", 32},
                                 12345};
  const FakeOpenAiRequest seen = call("gateway-model", credential, "from a 2.0 host");
  EXPECT_EQ(seen.authorization.value_or(""), "Bearer sk-old-host");
  EXPECT_EQ(seen.headers.count("X-Session-Token"), 0u);
}

}  // namespace
}  // namespace llmrt::test

namespace llmrt::test {
namespace {

// End to end: a credential command (credentials.json) hands out a composite credential; the runtime
// passes it through ABI 2.1 to the openai plugin, which sends the key as the bearer and the token
// in the model's configured header, on that request only.
TEST(CompositeCredentialEndToEnd, CommandCredentialReachesTheUpstreamWithBothHeaders) {
  FakeOpenAiServer server;
  TempDir user;
  json::array models;
  models.push_back({{"id", "gateway-model"},
                    {"model", "fake-model"},
                    {"api_base", server.base_url()},
                    {"session_token_header", "X-Session-Token"}});
  std::ofstream(user.path() / "openai-models.json") << json::serialize(models);
  std::ofstream(user.path() / "command-keys.txt") << "sk-from-command-77\n";
  json::array argv{LLMRT_FAKE_CREDENTIAL_COMMAND,
                   "--key-file",
                   (user.path() / "command-keys.txt").string(),
                   "--token",
                   "--expires-in",
                   "3600"};
  json::object command{{"argv", argv}, {"timeout_ms", 30000}};
  json::object openai{{"sources", json::array{"command"}}, {"command", command}};
  std::ofstream(user.path() / "credentials.json")
      << json::serialize(json::object{{"openai", openai}});

  FakeEnvironment environment;
  const Runtime runtime(isolated_config(user.path(), environment));
  for (const auto& error : runtime.load_errors()) ADD_FAILURE() << error.message;
  const Response response = runtime.get_model("gateway-model").prompt("composite please");

  EXPECT_EQ(response.text, "echo: composite please");
  EXPECT_EQ(response.key_source, KeySource::command);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization.value_or(""), "Bearer sk-from-command-77");
  ASSERT_TRUE(requests[0].headers.count("X-Session-Token"));
  EXPECT_EQ(requests[0].headers.at("X-Session-Token"), "sk-from-command-77-session");
}

}  // namespace
}  // namespace llmrt::test
