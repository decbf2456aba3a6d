// The anthropic plugin's model list on its own: Anthropic's models at its API, moved by
// ANTHROPIC_BASE_URL, merged with <user_dir>/anthropic-models.json.
#include "config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.hpp"

namespace llmrt::anthropic {
namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(AnthropicConfig, DefaultModelsNeedTheAnthropicKey) {
  const BaseUrl base = provider::parse_base_url(kDefaultBaseUrl, "x");
  EXPECT_EQ(base.text, "https://api.anthropic.com");
  const auto models = default_models(base);
  ASSERT_EQ(models.size(), 5u);
  EXPECT_EQ(models.front().id, "claude-opus-4-1");
  EXPECT_EQ(models.front().display_name, "Claude Opus 4.1");
  for (const ModelConfig& model : models) {
    EXPECT_EQ(model.upstream_model, model.id);
    EXPECT_EQ(model.base, base);
    EXPECT_TRUE(model.accepts_key);
    EXPECT_TRUE(model.requires_key);
    EXPECT_EQ(model.key_name, "anthropic");
    EXPECT_EQ(model.key_env_var, "ANTHROPIC_API_KEY");
    EXPECT_EQ(model.max_connections, provider::kDefaultMaxConnections);
  }
}

TEST(AnthropicConfig, LoadModelsReadsTheUserDirectoryAndTheBaseUrl) {
  llmrt::test::TempDir dir;
  const auto defaults = default_models(provider::parse_base_url(kDefaultBaseUrl, "x"));
  EXPECT_EQ(load_models(dir.path().string(), nullptr), defaults);
  EXPECT_EQ(load_models(dir.path().string(), ""), defaults);
  EXPECT_EQ(load_models("", nullptr), defaults);
  const BaseUrl moved = provider::parse_base_url("http://127.0.0.1:4000", "x");
  EXPECT_EQ(load_models(dir.path().string(), "http://127.0.0.1:4000/"), default_models(moved));

  // A model of the file replaces the default of its id; a new one is appended, at the default
  // server unless it names its own; the default key is Anthropic's.
  write_file(dir.path() / "anthropic-models.json",
             R"([{"id": "claude-haiku-4-5", "model": "claude-haiku-4-5-20251001"},
                 {"id": "local", "api_base": "http://127.0.0.1:5000", "no_key": true}])");
  const auto models = load_models(dir.path().string(), "http://127.0.0.1:4000");
  ASSERT_EQ(models.size(), defaults.size() + 1);
  EXPECT_EQ(models[2].id, "claude-haiku-4-5");
  EXPECT_EQ(models[2].upstream_model, "claude-haiku-4-5-20251001");
  EXPECT_EQ(models[2].base, moved);
  EXPECT_TRUE(models[2].requires_key);
  EXPECT_EQ(models[2].key_name, "anthropic");
  EXPECT_EQ(models[2].key_env_var, "ANTHROPIC_API_KEY");
  EXPECT_EQ(models.back().id, "local");
  EXPECT_EQ(models.back().base.text, "http://127.0.0.1:5000");
  EXPECT_FALSE(models.back().accepts_key);

  try {
    load_models(dir.path().string(), "localhost:4000");
    ADD_FAILURE() << "a bad ANTHROPIC_BASE_URL was accepted";
  } catch (const provider::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("ANTHROPIC_BASE_URL"), std::string::npos)
        << error.what();
  }
  write_file(dir.path() / "anthropic-models.json", "[{]");
  try {
    load_models(dir.path().string(), nullptr);
    ADD_FAILURE() << "a malformed file was accepted";
  } catch (const provider::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find((dir.path() / "anthropic-models.json").string()),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace llmrt::anthropic
