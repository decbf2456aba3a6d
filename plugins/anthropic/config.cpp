#include "config.hpp"

namespace llmrt::anthropic {
namespace {

constexpr provider::KnownModel kKnownModels[] = {
    {"claude-opus-4-1", "Claude Opus 4.1"},
    {"claude-sonnet-4-5", "Claude Sonnet 4.5"},
    {"claude-haiku-4-5", "Claude Haiku 4.5"},
    {"claude-3-7-sonnet-latest", "Claude Sonnet 3.7"},
    {"claude-3-5-haiku-latest", "Claude Haiku 3.5"},
};

constexpr provider::ProviderModels kAnthropic{
    {kModelsFileName, kDefaultKeyName, kDefaultKeyEnvVar, "api.anthropic.com"},
    kDefaultBaseUrl,
    kBaseUrlEnvVar,
    kKnownModels};

}  // namespace

std::vector<ModelConfig> default_models(const BaseUrl& base) {
  return provider::known_models(kAnthropic, base);
}

std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env) {
  return provider::load_models(user_dir, base_url_env, kAnthropic);
}

}  // namespace llmrt::anthropic
