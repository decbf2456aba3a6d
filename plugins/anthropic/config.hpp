// The anthropic plugin's model list: Anthropic's current models, plus the models a user declares
// in <user_dir>/anthropic-models.json (same format as openai-models.json).
// docs/plugins/anthropic.md describes it.
#ifndef LLMRT_ANTHROPIC_CONFIG_HPP
#define LLMRT_ANTHROPIC_CONFIG_HPP

#include <string_view>
#include <vector>

#include "models_file.hpp"

namespace llmrt::anthropic {

using provider::BaseUrl;
using provider::ModelConfig;

// Anthropic's API, used when neither ANTHROPIC_BASE_URL nor a model's api_base says otherwise.
// (As in Anthropic's SDKs, the base has no "/v1": requests go to <base>/v1/messages.)
inline constexpr std::string_view kDefaultBaseUrl = "https://api.anthropic.com";
inline constexpr const char* kBaseUrlEnvVar = "ANTHROPIC_BASE_URL";
inline constexpr std::string_view kModelsFileName = "anthropic-models.json";
inline constexpr const char* kDefaultKeyName = "anthropic";
inline constexpr const char* kDefaultKeyEnvVar = "ANTHROPIC_API_KEY";

// Anthropic's models, all at `base`, all requiring the "anthropic" key.
std::vector<ModelConfig> default_models(const BaseUrl& base);

// The defaults at `base_url_env` (ANTHROPIC_BASE_URL's value, or nullptr/empty for Anthropic's
// API) merged with <user_dir>/anthropic-models.json when it exists. Throws provider::ConfigError.
std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env);

}  // namespace llmrt::anthropic

#endif  // LLMRT_ANTHROPIC_CONFIG_HPP
