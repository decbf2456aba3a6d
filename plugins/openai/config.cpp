#include "config.hpp"

namespace llmrt::openai {
namespace {

constexpr provider::KnownModel kKnownModels[] = {
    {"gpt-4o", "GPT-4o"},
    {"gpt-4o-mini", "GPT-4o mini"},
    {"gpt-4.1", "GPT-4.1"},
    {"gpt-4.1-mini", "GPT-4.1 mini"},
    {"gpt-4.1-nano", "GPT-4.1 nano"},
    {"o3-mini", "o3-mini"},
    {"o4-mini", "o4-mini"},
};

constexpr provider::ProviderModels kOpenAi{
    {kModelsFileName, kDefaultKeyName, kDefaultKeyEnvVar, "api.openai.com"},
    kDefaultBaseUrl,
    kBaseUrlEnvVar,
    kKnownModels};

}  // namespace

std::vector<ModelConfig> default_models(const BaseUrl& base) {
  return provider::known_models(kOpenAi, base);
}

std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file) {
  return provider::parse_models_file(json, default_base, file, kOpenAi.file);
}

std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env) {
  return provider::load_models(user_dir, base_url_env, kOpenAi);
}

}  // namespace llmrt::openai
