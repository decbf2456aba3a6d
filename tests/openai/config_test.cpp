// The openai plugin's model list: base URLs, the default models, openai-models.json.
#include "config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_support.hpp"

namespace llmrt::openai {
namespace {

const BaseUrl kDefault = parse_base_url(kDefaultBaseUrl, "the default");

TEST(OpenAiBaseUrl, SplitsOriginAndPathPrefix) {
  EXPECT_EQ(kDefault.origin, "https://api.openai.com");
  EXPECT_EQ(kDefault.path_prefix, "/v1");
  EXPECT_EQ(kDefault.text, "https://api.openai.com/v1");
  EXPECT_EQ(kDefault.host, "api.openai.com");
  EXPECT_EQ(kDefault.port, 443);

  const BaseUrl local = parse_base_url("http://127.0.0.1:8081/v1/", "x");
  EXPECT_EQ(local.origin, "http://127.0.0.1:8081");
  EXPECT_EQ(local.path_prefix, "/v1");
  EXPECT_EQ(local.text, "http://127.0.0.1:8081/v1");
  EXPECT_EQ(local.host, "127.0.0.1");
  EXPECT_EQ(local.port, 8081);
  EXPECT_EQ(parse_base_url("http://example.com/v1", "x").port, 80);

  const BaseUrl root = parse_base_url("http://localhost:11434", "x");
  EXPECT_EQ(root.origin, "http://localhost:11434");
  EXPECT_EQ(root.path_prefix, "");

  const BaseUrl upper = parse_base_url("HTTPS://Example.COM:8443/api/openai/v1", "x");
  EXPECT_EQ(upper.origin, "https://example.com:8443");
  EXPECT_EQ(upper.path_prefix, "/api/openai/v1");

  const BaseUrl ipv6 = parse_base_url("http://[::1]:8080/v1", "x");
  EXPECT_EQ(ipv6.origin, "http://[::1]:8080");
  EXPECT_EQ(ipv6.path_prefix, "/v1");
  EXPECT_EQ(ipv6.host, "::1");
  EXPECT_EQ(ipv6.port, 8080);
}

TEST(OpenAiBaseUrl, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"", "api.openai.com/v1", "ftp://example.com/v1", "http://", "http://:8080/v1",
        "http://user:secret@example.com/v1", "http://example.com:0/v1",
        "http://example.com:99999/v1", "http://example.com:/v1", "http://example.com:8a/v1",
        "http://example.com/v1?x=1", "http://example.com/v1#top", "http://exa mple.com/v1",
        "http://[::1/v1"}) {
    try {
      parse_base_url(bad, "OPENAI_BASE_URL");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("OPENAI_BASE_URL"), std::string::npos)
          << error.what();
    }
  }
}

TEST(OpenAiConfig, DefaultModelsNeedTheOpenAiKey) {
  const auto models = default_models(kDefault);
  ASSERT_GE(models.size(), 7u);
  for (const char* id :
       {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini", "o4-mini"}) {
    const auto it =
        std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.id == id; });
    ASSERT_NE(it, models.end()) << id;
    EXPECT_EQ(it->upstream_model, id);
    EXPECT_EQ(it->base, kDefault);
    EXPECT_TRUE(it->accepts_key);
    EXPECT_TRUE(it->requires_key);
    EXPECT_EQ(it->key_name, "openai");
    EXPECT_EQ(it->key_env_var, "OPENAI_API_KEY");
    EXPECT_FALSE(it->display_name.empty());
  }
}

TEST(OpenAiConfig, ModelFieldsAndTheirDefaults) {
  const auto models = parse_models_file(R"json([
    {"id": "plain"},
    {"id": "local-llama", "model": "llama-3.1-8b", "api_base": "http://127.0.0.1:8081/v1"},
    {"id": "local-needs", "api_base": "http://127.0.0.1:8081/v1", "needs_key": true},
    {"id": "official", "api_base": "https://api.openai.com/v1"},
    {"id": "other-key", "key_name": "groq", "display_name": "Groq"},
    {"id": "other-env", "key_name": "groq", "key_env_var": "GROQ_API_KEY", "needs_key": false},
    {"id": "no-env", "key_env_var": ""},
    {"id": "open", "api_base": "http://127.0.0.1:9000", "no_key": true}
  ])json",
                                        kDefault, "openai-models.json");
  ASSERT_EQ(models.size(), 8u);

  EXPECT_EQ(models[0].id, "plain");
  EXPECT_EQ(models[0].upstream_model, "plain");
  EXPECT_EQ(models[0].base, kDefault);
  EXPECT_TRUE(models[0].accepts_key);
  EXPECT_TRUE(models[0].requires_key);  // the default server needs keys
  EXPECT_EQ(models[0].key_name, "openai");
  EXPECT_EQ(models[0].key_env_var, "OPENAI_API_KEY");

  EXPECT_EQ(models[1].upstream_model, "llama-3.1-8b");
  EXPECT_EQ(models[1].base.text, "http://127.0.0.1:8081/v1");
  EXPECT_TRUE(models[1].accepts_key);
  EXPECT_FALSE(models[1].requires_key);  // a server of its own: a key only when one is found

  EXPECT_TRUE(models[2].requires_key);
  EXPECT_TRUE(models[3].requires_key);  // OpenAI itself always needs one

  EXPECT_EQ(models[4].key_name, "groq");
  EXPECT_EQ(models[4].key_env_var, "");  // OPENAI_API_KEY only goes with the "openai" key
  EXPECT_EQ(models[4].display_name, "Groq");

  EXPECT_EQ(models[5].key_env_var, "GROQ_API_KEY");
  EXPECT_FALSE(models[5].requires_key);

  EXPECT_EQ(models[6].key_name, "openai");
  EXPECT_EQ(models[6].key_env_var, "");

  EXPECT_FALSE(models[7].accepts_key);
  EXPECT_FALSE(models[7].requires_key);
  EXPECT_EQ(models[7].key_name, "");
  EXPECT_EQ(models[7].key_env_var, "");
}

TEST(OpenAiConfig, ObjectFormCommentsAndTrailingCommas) {
  const auto models = parse_models_file(R"json({
    // my local servers
    "// note": "ignored",
    "models": [
      {"id": "a", "// why": "ignored too",},
      /* another */ {"id": "b"},
    ],
  })json",
                                        kDefault, "openai-models.json");
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].id, "a");
  EXPECT_EQ(models[1].id, "b");
  EXPECT_TRUE(parse_models_file("[]", kDefault, "f").empty());
}

TEST(OpenAiConfig, MalformedFilesAreRefusedWithTheFileAndTheReason) {
  const struct {
    const char* json;
    const char* says;
  } cases[] = {
      {"[{\"id\": \"a\"", "not valid JSON at line 1"},
      {"", "not valid JSON"},
      {"\"models\"", "must be a JSON array"},
      {"{\"modles\": []}", "unknown top-level field \"modles\""},
      {"{}", "no \"models\" array"},
      {"{\"models\": {}}", "\"models\" must be an array"},
      {"[42]", "models[0] must be an object"},
      {"[{\"model\": \"x\"}]", "models[0] has no \"id\""},
      {"[{\"id\": \"has space\"}]", "is not valid"},
      {"[{\"id\": 7}]", "\"id\" must be a string"},
      {"[{\"id\": \"a\", \"api_url\": \"http://x\"}]", "unknown field \"api_url\""},
      {"[{\"id\": \"a\"}, {\"id\": \"a\"}]", "declared twice"},
      {"[{\"id\": \"a\", \"api_base\": \"localhost:8080\"}]", "not a usable base URL"},
      {"[{\"id\": \"a\", \"needs_key\": \"yes\"}]", "\"needs_key\" must be true or false"},
      {"[{\"id\": \"a\", \"no_key\": true, \"key_name\": \"x\"}]", "cannot be combined"},
      {"[{\"id\": \"a\", \"key_name\": \"bad name\"}]", "key_name"},
      {"[{\"id\": \"a\", \"key_env_var\": \"1BAD\"}]", "not a variable name"},
      {"[{\"id\": \"a\", \"model\": \"\"}]", "\"model\" must not be empty"},
      {"[{\"id\": \"a\", \"session_token_header\": \"Bad Header\"}]", "not an HTTP header name"},
      {"[{\"id\": \"a\", \"session_token_header\": \"Authorization\"}]", "not an HTTP header name"},
      {"[{\"id\": \"a\", \"no_key\": true, \"session_token_header\": \"X-T\"}]",
       "cannot be combined"},
  };
  for (const auto& c : cases) {
    try {
      parse_models_file(c.json, kDefault, "/home/ann/.config/llmrt/openai-models.json");
      ADD_FAILURE() << "accepted: " << c.json;
    } catch (const ConfigError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("/home/ann/.config/llmrt/openai-models.json: "), std::string::npos)
          << message;
      EXPECT_NE(message.find(c.says), std::string::npos) << c.json << " -> " << message;
    }
  }
}

TEST(OpenAiConfig, SessionTokenHeaderIsReadFromTheModelsFile) {
  const auto models = parse_models_file(
      R"([{"id": "gw", "api_base": "http://127.0.0.1:1/v1", "session_token_header": "X-Session-Token"},
          {"id": "plain", "api_base": "http://127.0.0.1:1/v1"}])",
      kDefault, "openai-models.json");
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].session_token_header, "X-Session-Token");
  EXPECT_EQ(models[1].session_token_header, "");
}

TEST(OpenAiConfig, ConfiguredModelReplacesTheDefaultOfTheSameId) {
  auto configured = parse_models_file(
      R"([{"id": "gpt-4o-mini", "api_base": "http://127.0.0.1:1/v1", "no_key": true},
          {"id": "extra"}])",
      kDefault, "f");
  const auto merged = merge_models(default_models(kDefault), std::move(configured));
  const auto defaults = default_models(kDefault);
  ASSERT_EQ(merged.size(), defaults.size() + 1);
  for (std::size_t i = 0; i < defaults.size(); ++i) {
    EXPECT_EQ(merged[i].id, defaults[i].id);  // same order, same place
    if (merged[i].id == "gpt-4o-mini") {
      EXPECT_EQ(merged[i].base.text, "http://127.0.0.1:1/v1");
      EXPECT_FALSE(merged[i].accepts_key);
    } else {
      EXPECT_EQ(merged[i], defaults[i]);
    }
  }
  EXPECT_EQ(merged.back().id, "extra");
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(OpenAiConfig, LoadModelsReadsTheUserDirectoryAndTheBaseUrl) {
  llmrt::test::TempDir dir;
  // No file: the defaults, at OpenAI or at OPENAI_BASE_URL.
  EXPECT_EQ(load_models(dir.path().string(), nullptr), default_models(kDefault));
  EXPECT_EQ(load_models(dir.path().string(), ""), default_models(kDefault));
  EXPECT_EQ(load_models("", nullptr), default_models(kDefault));
  const BaseUrl proxy = parse_base_url("http://127.0.0.1:4000/v1", "x");
  EXPECT_EQ(load_models(dir.path().string(), "http://127.0.0.1:4000/v1/"), default_models(proxy));

  write_file(dir.path() / "openai-models.json",
             R"([{"id": "here"}, {"id": "there", "api_base": "http://127.0.0.1:5000/v1"}])");
  const auto models = load_models(dir.path().string(), "http://127.0.0.1:4000/v1");
  ASSERT_EQ(models.size(), default_models(kDefault).size() + 2);
  EXPECT_EQ(models[models.size() - 2].id, "here");
  EXPECT_EQ(models[models.size() - 2].base, proxy);  // no api_base: the default server
  EXPECT_EQ(models.back().base.text, "http://127.0.0.1:5000/v1");

  EXPECT_THROW(load_models(dir.path().string(), "localhost:4000"), ConfigError);

  write_file(dir.path() / "openai-models.json", "[{]");
  try {
    load_models(dir.path().string(), nullptr);
    ADD_FAILURE() << "a malformed file was accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find((dir.path() / "openai-models.json").string()),
              std::string::npos)
        << error.what();
  }

  std::filesystem::remove(dir.path() / "openai-models.json");
  std::filesystem::create_directory(dir.path() / "openai-models.json");
  EXPECT_THROW(load_models(dir.path().string(), nullptr), ConfigError);
}

}  // namespace
}  // namespace llmrt::openai
