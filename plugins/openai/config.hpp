// The openai plugin's model list: OpenAI's current chat models, plus the models a user declares in
// <user_dir>/openai-models.json (eg: a local llama.cpp, Ollama or vLLM server).
// docs/plugins/openai.md describes the file.
#ifndef LLMRT_OPENAI_CONFIG_HPP
#define LLMRT_OPENAI_CONFIG_HPP

#include <string>
#include <string_view>
#include <vector>

#include "models_file.hpp"

namespace llmrt::openai {

// OpenAI's API, used when neither OPENAI_BASE_URL nor a model's api_base says otherwise.
inline constexpr std::string_view kDefaultBaseUrl = "https://api.openai.com/v1";
// The environment variable that overrides kDefaultBaseUrl, as in OpenAI's own SDKs.
inline constexpr const char* kBaseUrlEnvVar = "OPENAI_BASE_URL";
// The model file in the user directory.
inline constexpr std::string_view kModelsFileName = "openai-models.json";
inline constexpr const char* kDefaultKeyName = "openai";
inline constexpr const char* kDefaultKeyEnvVar = "OPENAI_API_KEY";

using provider::BaseUrl;
using provider::ConfigError;
using provider::merge_models;
using provider::ModelConfig;
using provider::parse_base_url;

// OpenAI's chat models, all at `base`, all requiring the "openai" key.
std::vector<ModelConfig> default_models(const BaseUrl& base);

// Parses the text of an openai-models.json file. `default_base` is where models without an
// api_base go; `file` names the file in error messages. Throws ConfigError.
std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file);

// The plugin's whole model list: the defaults at `base_url_env` (the value of OPENAI_BASE_URL, or
// nullptr/empty for OpenAI's API) merged with <user_dir>/openai-models.json when that file exists.
// Throws ConfigError for a bad OPENAI_BASE_URL or a malformed or unreadable file.
std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env);

}  // namespace llmrt::openai

#endif  // LLMRT_OPENAI_CONFIG_HPP
