// The openai plugin's model list: OpenAI's current chat models, plus the models a user declares in
// <user_dir>/openai-models.json (eg: a local llama.cpp, Ollama or vLLM server).
// docs/plugins/openai.md describes the file.
#ifndef LLMRT_OPENAI_CONFIG_HPP
#define LLMRT_OPENAI_CONFIG_HPP

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::openai {

// OpenAI's API, used when neither OPENAI_BASE_URL nor a model's api_base says otherwise.
inline constexpr std::string_view kDefaultBaseUrl = "https://api.openai.com/v1";
// The environment variable that overrides kDefaultBaseUrl, as in OpenAI's own SDKs.
inline constexpr const char* kBaseUrlEnvVar = "OPENAI_BASE_URL";
// The model file in the user directory.
inline constexpr std::string_view kModelsFileName = "openai-models.json";
inline constexpr const char* kDefaultKeyName = "openai";
inline constexpr const char* kDefaultKeyEnvVar = "OPENAI_API_KEY";

// A configuration problem (a bad base URL, a malformed model file). Its message names what is wrong
// and where.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A base URL split the way httplib::Client needs it.
struct BaseUrl {
  std::string origin;       // eg: "http://127.0.0.1:8081" (scheme://host[:port]), for httplib
  std::string path_prefix;  // eg: "/v1"; empty for a server at the root; never ends with '/'
  std::string text;         // eg: "http://127.0.0.1:8081/v1": origin + path_prefix, for messages
  std::string host;         // eg: "127.0.0.1", "api.openai.com", "::1" (no brackets)
  int port = 0;             // eg: 8081; 443 or 80 when the URL has none

  bool operator==(const BaseUrl&) const = default;
};

// Parses "http[s]://host[:port][/path]". Throws ConfigError naming `what` (eg: "OPENAI_BASE_URL")
// for anything else: another scheme, user info ("user:pass@"), a query or a fragment, a bad port.
BaseUrl parse_base_url(std::string_view url, std::string_view what);

// One model the plugin offers.
struct ModelConfig {
  std::string id;              // the llmrt model id, eg: "gpt-4o-mini" or "local-llama"
  std::string display_name;    // eg: "GPT-4o mini"; may be empty
  std::string upstream_model;  // the "model" sent upstream, eg: "llama-3.1-8b-instruct"
  BaseUrl base;                // where requests go
  bool accepts_key = true;     // false for "no_key": true models (no Authorization header ever)
  bool requires_key = true;    // the host refuses to call without a key
  std::string key_name;        // keys.json entry, eg: "openai"; empty when !accepts_key
  std::string key_env_var;     // eg: "OPENAI_API_KEY"; may be empty
  // Where a composite credential's session token goes, eg: "X-Session-Token"; empty: nowhere (the
  // token is then never sent).
  std::string session_token_header;

  bool operator==(const ModelConfig&) const = default;
};

// OpenAI's chat models, all at `base`, all requiring the "openai" key.
std::vector<ModelConfig> default_models(const BaseUrl& base);

// Parses the text of an openai-models.json file. `default_base` is where models without an
// api_base go; `file` names the file in error messages. Throws ConfigError.
std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file);

// Models from `configured` replace the default model of the same id (in place) or are appended.
std::vector<ModelConfig> merge_models(std::vector<ModelConfig> defaults,
                                      std::vector<ModelConfig> configured);

// The plugin's whole model list: the defaults at `base_url_env` (the value of OPENAI_BASE_URL, or
// nullptr/empty for OpenAI's API) merged with <user_dir>/openai-models.json when that file exists.
// Throws ConfigError for a bad OPENAI_BASE_URL or a malformed or unreadable file.
std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env);

}  // namespace llmrt::openai

#endif  // LLMRT_OPENAI_CONFIG_HPP
