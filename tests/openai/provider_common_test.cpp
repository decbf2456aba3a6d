// plugins/common on its own: which proxy a request uses (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), the
// network fields of a models file (headers, ca_file, max_connections), and the checks of a call's
// options both plugins use.
#include <llmrt/sdk.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "call_options.hpp"
#include "connection_pool.hpp"
#include "http_call.hpp"
#include "json_fields.hpp"
#include "model_spec.hpp"
#include "models_file.hpp"

namespace llmrt::provider {
namespace {

const ProviderDefaults kTestProvider{"test-models.json", "test", "TEST_API_KEY", "api.test.com"};

class ProxyEnvironment : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kNames) {
      if (const char* value = std::getenv(name)) saved_.emplace_back(name, value);
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  static std::optional<Proxy> proxy_for(const std::string& url) {
    return proxy_from_environment(parse_base_url(url, "test"));
  }

  static constexpr const char* kNames[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                                           "http_proxy",  "NO_PROXY",    "no_proxy"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(ProxyEnvironment, SchemePicksTheVariable) {
  EXPECT_EQ(proxy_for("https://api.anthropic.com"), std::nullopt);
  ::setenv("HTTPS_PROXY", "http://proxy.internal:3128", 1);
  ::setenv("http_proxy", "plain.internal:8080", 1);
  EXPECT_EQ(proxy_for("https://api.anthropic.com"), (Proxy{"proxy.internal", 3128}));
  EXPECT_EQ(proxy_for("http://localhost:8081/v1"), (Proxy{"plain.internal", 8080}));
}

TEST_F(ProxyEnvironment, NoProxyMatchesHostsDomainsAndPorts) {
  ::setenv("HTTPS_PROXY", "http://proxy.internal:3128", 1);
  ::setenv("NO_PROXY", " example.com, .corp.internal,127.0.0.1:8443,[::1]", 1);
  EXPECT_EQ(proxy_for("https://example.com"), std::nullopt);
  EXPECT_EQ(proxy_for("https://api.example.com"), std::nullopt);  // a subdomain
  EXPECT_NE(proxy_for("https://notexample.com"), std::nullopt);   // not a suffix match
  EXPECT_EQ(proxy_for("https://llm.corp.internal"), std::nullopt);
  EXPECT_EQ(proxy_for("https://127.0.0.1:8443"), std::nullopt);
  EXPECT_NE(proxy_for("https://127.0.0.1:9443"), std::nullopt);  // another port
  EXPECT_EQ(proxy_for("https://[::1]:4000"), std::nullopt);
  ::setenv("NO_PROXY", "*", 1);
  EXPECT_EQ(proxy_for("https://api.openai.com"), std::nullopt);
}

TEST_F(ProxyEnvironment, UnusableProxyIsAConfigErrorThatHidesThePassword) {
  ::setenv("HTTPS_PROXY", "https://proxy.internal:3128", 1);
  EXPECT_THROW(proxy_for("https://api.openai.com"), ConfigError);
  ::setenv("HTTPS_PROXY", "http://me:hunter2@proxy.internal:3128", 1);
  try {
    proxy_for("https://api.openai.com");
    ADD_FAILURE() << "accepted a proxy with credentials";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
  }
}

// Both plugins start their requests here: the model's endpoint (with the proxy the environment
// names for it), the API path after the base's prefix, the call's body, key and timeouts, the
// model's headers.
TEST_F(ProxyEnvironment, ModelRequestCarriesTheModelsEndpointPathTimeoutsAndHeaders) {
  ::setenv("HTTPS_PROXY", "http://proxy.internal:3128", 1);
  ModelConfig model;
  model.base = parse_base_url("https://llm.example.com/openai/v1", "test");
  model.ca_file = "/etc/ssl/corp.pem";
  model.max_connections = 8;
  model.headers = {{"OpenAI-Organization", "org-1"}, {"X-Team", "a"}};
  ProviderCall call;
  call.connect_timeout = std::chrono::milliseconds(5);
  call.read_timeout = std::chrono::milliseconds(7);
  call.max_retries = 0;
  call.body = R"({"model":"m"})";
  call.stream = true;
  call.key = "sk-test-model-request";
  const HttpRequest request = model_request(model, "/chat/completions", call);
  EXPECT_EQ(request.endpoint.base, model.base);
  EXPECT_EQ(request.endpoint.proxy, (Proxy{"proxy.internal", 3128}));
  EXPECT_EQ(request.endpoint.ca_file, "/etc/ssl/corp.pem");
  EXPECT_EQ(request.endpoint.max_connections, 8u);
  EXPECT_EQ(request.path, "/openai/v1/chat/completions");
  EXPECT_EQ(request.connect_timeout.count(), 5);
  EXPECT_EQ(request.read_timeout.count(), 7);
  EXPECT_EQ(request.max_retries, 0);
  EXPECT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers.find("openai-organization")->second, "org-1");
  EXPECT_EQ(request.headers.find("X-Team")->second, "a");
  EXPECT_EQ(request.body, R"({"model":"m"})");
  EXPECT_TRUE(request.stream);
  EXPECT_EQ(request.key, "sk-test-model-request");  // for scrubbing: no header carries it yet
  EXPECT_TRUE(request.secret_headers.empty());
}

TEST(ModelsFileNetworkFields, HeadersCaFileAndMaxConnections) {
  const BaseUrl base = parse_base_url("https://api.test.com/v1", "test");
  const auto models = parse_models_file(
      R"([{"id": "m", "headers": {"OpenAI-Organization": "org-1", "OpenAI-Project": "p"},
           "ca_file": "/etc/ssl/corp.pem", "max_connections": 8}, {"id": "plain"}])",
      base, "test-models.json", kTestProvider);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].headers, (std::vector<std::pair<std::string, std::string>>{
                                   {"OpenAI-Organization", "org-1"}, {"OpenAI-Project", "p"}}));
  EXPECT_EQ(models[0].ca_file, "/etc/ssl/corp.pem");
  EXPECT_EQ(models[0].max_connections, 8u);
  EXPECT_TRUE(models[1].headers.empty());
  EXPECT_EQ(models[1].max_connections, kDefaultMaxConnections);
  EXPECT_EQ(models[1].key_name, "test");
}

TEST(ModelsFileNetworkFields, HeadersThePluginSetsItselfAreRefused) {
  const BaseUrl base = parse_base_url("https://api.test.com", "test");
  for (const char* header : {"Authorization", "x-api-key", "Host", "Content-Length"}) {
    const std::string file = std::string(R"([{"id": "m", "headers": {")") + header + R"(": "x"}}])";
    try {
      parse_models_file(file, base, "test-models.json", kTestProvider);
      ADD_FAILURE() << header << " was accepted";
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(header), std::string::npos) << error.what();
    }
  }
  EXPECT_THROW(
      parse_models_file(R"([{"id": "m", "max_connections": 0}])", base, "f", kTestProvider),
      ConfigError);
  EXPECT_THROW(parse_models_file(R"([{"id": "m", "headers": {"X-A": "line\nbreak"}}])", base, "f",
                                 kTestProvider),
               ConfigError);
}

// The message integer_option refuses `json` with ("" when it takes it).
std::string integer_refusal(std::string_view json, WholeDoubles whole_doubles) {
  try {
    integer_option(boost::json::parse(json), "n", 1, 100, whole_doubles);
  } catch (const sdk::Error& error) {
    EXPECT_EQ(error.status(), LLMRT_BAD_REQUEST);
    return error.what();
  }
  return "";
}

// The two plugins' rules for integers written as doubles, side by side: the same up to 9e15, then
// openai's says "an integer" where anthropic's range-checks.
TEST(CallOptions, EachPluginKeepsItsRuleForWholeDoubles) {
  for (const WholeDoubles rule : {WholeDoubles::kBelow9e15, WholeDoubles::kInInt64}) {
    EXPECT_EQ(integer_option(boost::json::parse("7"), "n", 1, 100, rule), 7);
    EXPECT_EQ(integer_option(boost::json::parse("7.0"), "n", 1, 100, rule), 7);
    EXPECT_EQ(integer_refusal("101", rule), "option 'n' must be an integer from 1 to 100");
    EXPECT_EQ(integer_refusal("1e15", rule), "option 'n' must be an integer from 1 to 100");
    EXPECT_EQ(integer_refusal("7.5", rule), "option 'n' must be an integer");
    EXPECT_EQ(integer_refusal("\"7\"", rule), "option 'n' must be an integer");
    EXPECT_EQ(integer_refusal("1e19", rule), "option 'n' must be an integer");
  }
  EXPECT_EQ(integer_refusal("1e16", WholeDoubles::kBelow9e15), "option 'n' must be an integer");
  EXPECT_EQ(integer_refusal("1e16", WholeDoubles::kInInt64),
            "option 'n' must be an integer from 1 to 100");
}

TEST(CallOptions, EachOptionIsHandedOverAndUnknownOnesAreNamed) {
  std::vector<std::string> seen;
  TransportOptions transport;
  for_each_option(R"({"a":1,"connect_timeout_ms":5,"max_retries":0,"read_timeout_ms":7})",
                  [&](std::string_view name, boost::json::value& value) {
                    seen.emplace_back(name);
                    return name == "a" ||
                           take_transport_option(name, value, WholeDoubles::kInInt64, transport);
                  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "connect_timeout_ms", "max_retries",
                                            "read_timeout_ms"}));
  EXPECT_EQ(transport.connect_timeout.count(), 5);
  EXPECT_EQ(transport.read_timeout.count(), 7);
  EXPECT_EQ(transport.max_retries, 0);
  const auto knows_nothing = [](std::string_view, boost::json::value&) { return false; };
  for_each_option("", knows_nothing);  // no options: nothing to hand over
  try {
    for_each_option(R"({"b":1})", knows_nothing);
    ADD_FAILURE() << "an unknown option was taken";
  } catch (const sdk::Error& error) {
    EXPECT_EQ(error.status(), LLMRT_BAD_REQUEST);
    EXPECT_STREQ(error.what(), "unknown option 'b'");
  }
  EXPECT_THROW(for_each_option("[1]", knows_nothing), sdk::Error);
}

class SilentModel final : public sdk::DynamicModel {
 public:
  void execute(const sdk::Prompt&, sdk::Output&) override {}
};

// Both plugins describe their models to the host with model_spec: a "no_key" model never names a
// key, a keyed one names its key and variable, and only a keyed one can require it.
TEST(ModelSpec, KeysFollowTheModelAndEveryProviderModelStreamsAndReadsConversations) {
  ModelConfig keyed;
  keyed.id = "gpt-4o";
  keyed.display_name = "GPT-4o";
  keyed.key_name = "openai";
  keyed.key_env_var = "OPENAI_API_KEY";
  sdk::DynamicModelSpec spec = model_spec(keyed, "{}", std::make_unique<SilentModel>());
  EXPECT_EQ(spec.id, "gpt-4o");
  EXPECT_EQ(spec.display_name, "GPT-4o");
  EXPECT_TRUE(spec.accepts_key);
  EXPECT_TRUE(spec.requires_key);
  EXPECT_EQ(spec.key_name, "openai");
  EXPECT_EQ(spec.key_env_var, "OPENAI_API_KEY");
  EXPECT_TRUE(spec.streaming && spec.conversation && spec.reentrant);
  EXPECT_FALSE(spec.deterministic);
  EXPECT_EQ(spec.options_schema, "{}");
  EXPECT_NE(spec.model, nullptr);

  ModelConfig local = keyed;
  local.accepts_key = false;  // "no_key": true
  spec = model_spec(local, "{}", std::make_unique<SilentModel>());
  EXPECT_FALSE(spec.accepts_key);
  EXPECT_FALSE(spec.requires_key);
  EXPECT_TRUE(spec.key_name.empty());
  EXPECT_TRUE(spec.key_env_var.empty());
}

TEST(ModelSpec, AModelThatNeedsAKeyRefusesACallWithoutOne) {
  ModelConfig model;
  model.id = "claude-haiku-4-5";
  model.key_name = "anthropic";
  try {
    refuse_keyless_call(model);
    ADD_FAILURE() << "a call without the key it needs was let through";
  } catch (const sdk::Error& error) {
    EXPECT_EQ(error.status(), LLMRT_BAD_REQUEST);
    EXPECT_STREQ(error.what(), "model 'claude-haiku-4-5' needs a key (anthropic)");
  }
  model.requires_key = false;
  EXPECT_NO_THROW(refuse_keyless_call(model));
}

TEST(ModelSpec, APluginThatCannotLoadSaysWhyOnStderr) {
  testing::internal::CaptureStderr();
  EXPECT_THROW(load_or_explain("test",
                               []() -> std::vector<ModelConfig> {
                                 throw ConfigError("TEST_BASE_URL: it has no host");
                               }),
               ConfigError);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "llmrt: the test plugin is not loaded: TEST_BASE_URL: it has no host\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(load_or_explain("test", [] { return std::vector<ModelConfig>(2); }).size(), 2u);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// Both clients read answers with these: a field that is missing or of another type reads as absent.
TEST(JsonFields, MissingOrMistypedFieldsReadAsAbsent) {
  const boost::json::object answer =
      boost::json::parse(R"({"delta": {"text": "hi", "n": 1}, "usage": 7, "type": null})")
          .as_object();
  const boost::json::object* delta = object_at(&answer, "delta");
  ASSERT_NE(delta, nullptr);
  EXPECT_EQ(string_at(delta, "text"), "hi");
  EXPECT_EQ(string_at(delta, "n"), "");
  EXPECT_EQ(string_at(delta, "absent"), "");
  EXPECT_EQ(object_at(&answer, "usage"), nullptr);
  EXPECT_EQ(object_at(&answer, "absent"), nullptr);
  EXPECT_EQ(string_at(&answer, "type"), "");
  EXPECT_EQ(object_at(object_at(&answer, "absent"), "usage"), nullptr);
  EXPECT_EQ(string_at(nullptr, "text"), "");
}

}  // namespace
}  // namespace llmrt::provider
