#include "config.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace llmrt::anthropic {
namespace {

const provider::ProviderDefaults kAnthropic{kModelsFileName, kDefaultKeyName, kDefaultKeyEnvVar,
                                            "api.anthropic.com"};

struct DefaultModel {
  const char* id;
  const char* display_name;
};

constexpr DefaultModel kDefaultModels[] = {
    {"claude-opus-4-1", "Claude Opus 4.1"},
    {"claude-sonnet-4-5", "Claude Sonnet 4.5"},
    {"claude-haiku-4-5", "Claude Haiku 4.5"},
    {"claude-3-7-sonnet-latest", "Claude Sonnet 3.7"},
    {"claude-3-5-haiku-latest", "Claude Haiku 3.5"},
};

}  // namespace

std::vector<ModelConfig> default_models(const BaseUrl& base) {
  std::vector<ModelConfig> models;
  for (const DefaultModel& known : kDefaultModels) {
    ModelConfig model;
    model.id = known.id;
    model.display_name = known.display_name;
    model.upstream_model = known.id;
    model.base = base;
    model.key_name = kDefaultKeyName;
    model.key_env_var = kDefaultKeyEnvVar;
    models.push_back(std::move(model));
  }
  return models;
}

std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env) {
  const bool from_env = base_url_env != nullptr && *base_url_env != '\0';
  const BaseUrl base =
      provider::parse_base_url(from_env ? std::string_view(base_url_env) : kDefaultBaseUrl,
                               from_env ? kBaseUrlEnvVar : "the default");
  std::vector<ModelConfig> models = default_models(base);
  const std::optional<std::string> text = provider::read_models_file(user_dir, kModelsFileName);
  if (!text) return models;
  const std::string file = (std::filesystem::path(user_dir) / kModelsFileName).string();
  return provider::merge_models(std::move(models),
                                provider::parse_models_file(*text, base, file, kAnthropic));
}

}  // namespace llmrt::anthropic
