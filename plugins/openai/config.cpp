#include "config.hpp"

#include <filesystem>
#include <optional>

namespace llmrt::openai {
namespace {

const provider::ProviderDefaults kOpenAi{kModelsFileName, kDefaultKeyName, kDefaultKeyEnvVar,
                                         "api.openai.com"};

struct DefaultModel {
  const char* id;
  const char* display_name;
};

constexpr DefaultModel kDefaultModels[] = {
    {"gpt-4o", "GPT-4o"},
    {"gpt-4o-mini", "GPT-4o mini"},
    {"gpt-4.1", "GPT-4.1"},
    {"gpt-4.1-mini", "GPT-4.1 mini"},
    {"gpt-4.1-nano", "GPT-4.1 nano"},
    {"o3-mini", "o3-mini"},
    {"o4-mini", "o4-mini"},
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
    model.accepts_key = true;
    model.requires_key = true;
    model.key_name = kDefaultKeyName;
    model.key_env_var = kDefaultKeyEnvVar;
    models.push_back(std::move(model));
  }
  return models;
}

std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file) {
  return provider::parse_models_file(json, default_base, file, kOpenAi);
}

std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env) {
  const bool from_env = base_url_env != nullptr && *base_url_env != '\0';
  const BaseUrl base = parse_base_url(from_env ? std::string_view(base_url_env) : kDefaultBaseUrl,
                                      from_env ? kBaseUrlEnvVar : "the default");
  std::vector<ModelConfig> models = default_models(base);
  const std::string file = (std::filesystem::path(user_dir) / kModelsFileName).string();
  const std::optional<std::string> text = provider::read_models_file(user_dir, kModelsFileName);
  if (!text) return models;
  return merge_models(std::move(models), parse_models_file(*text, base, file));
}

}  // namespace llmrt::openai
