// What the provider plugins share about their model lists: base URLs, and the
// <user_dir>/<provider>-models.json file that declares models (eg: a local llama.cpp server, or an
// Anthropic model the defaults do not list). docs/plugins/openai.md describes the file.
#ifndef LLMRT_PROVIDER_MODELS_FILE_HPP
#define LLMRT_PROVIDER_MODELS_FILE_HPP

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrt::provider {

// A configuration problem (a bad base URL, a malformed model file). Its message names what is wrong
// and where; it never holds a key (configuration holds none).
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

  bool https() const { return origin.starts_with("https://"); }
  bool operator==(const BaseUrl&) const = default;
};

// Parses "http[s]://host[:port][/path]". Throws ConfigError naming `what` (eg: "OPENAI_BASE_URL")
// for anything else: another scheme, user info ("user:pass@"), a query or a fragment, a bad port.
BaseUrl parse_base_url(std::string_view url, std::string_view what);

// The most connections a model's endpoint keeps open at once, unless its file says otherwise.
inline constexpr std::size_t kDefaultMaxConnections = 64;

// One model a provider plugin offers.
struct ModelConfig {
  std::string id;              // the llmrt model id, eg: "gpt-4o-mini" or "local-llama"
  std::string display_name;    // eg: "GPT-4o mini"; may be empty
  std::string upstream_model;  // the "model" sent upstream, eg: "llama-3.1-8b-instruct"
  BaseUrl base;                // where requests go
  bool accepts_key = true;     // false for "no_key": true models (no key header ever)
  bool requires_key = true;    // the host refuses to call without a key
  std::string key_name;        // keys.json entry, eg: "openai"; empty when !accepts_key
  std::string key_env_var;     // eg: "OPENAI_API_KEY"; may be empty
  // Where a composite credential's session token goes, eg: "X-Session-Token"; empty: nowhere (the
  // token is then never sent).
  std::string session_token_header;
  // Sent with every request of the model, eg: {"OpenAI-Organization", "org-123"}. Never a header
  // the plugin sets itself (Authorization, x-api-key, Content-Type, Host, ...).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string ca_file;  // PEM file of the CAs trusted for this model; empty: the system's
  std::size_t max_connections = kDefaultMaxConnections;  // the pool's bound for its endpoint

  bool operator==(const ModelConfig&) const = default;
};

// What differs between providers in their models file.
struct ProviderDefaults {
  std::string_view file_name;      // eg: "openai-models.json"
  const char* key_name;            // eg: "openai": the key models use unless they say otherwise
  const char* key_env_var;         // eg: "OPENAI_API_KEY": that key's environment variable
  std::string_view official_host;  // eg: "api.openai.com": models there always need a key
};

// Parses the text of a models file. `default_base` is where models without an api_base go; `file`
// names the file in error messages. Throws ConfigError.
std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file, const ProviderDefaults& provider);

// Models from `configured` replace the default model of the same id (in place) or are appended.
std::vector<ModelConfig> merge_models(std::vector<ModelConfig> defaults,
                                      std::vector<ModelConfig> configured);

// The text of <user_dir>/<file_name>, or nullopt when there is no such file (or no user_dir).
// Throws ConfigError when it exists but cannot be read, is not a regular file, or is over 4 MiB.
std::optional<std::string> read_models_file(std::string_view user_dir, std::string_view file_name);

// A model a provider offers without any configuration.
struct KnownModel {
  const char* id;            // eg: "gpt-4o": the llmrt id and the upstream model; mandatory
  const char* display_name;  // eg: "GPT-4o"; mandatory
};

// A provider's whole model list: its known models at its API, the base URL environment variable
// that moves them, and the user's models file.
struct ProviderModels {
  ProviderDefaults file;              // the models file and the key models use by default
  std::string_view default_base_url;  // eg: "https://api.openai.com/v1"
  const char* base_url_env_var;       // eg: "OPENAI_BASE_URL": overrides default_base_url
  std::span<const KnownModel> known;  // eg: gpt-4o, gpt-4o-mini, ...; in the order listed
};

// The known models, all at `base`, all requiring the provider's default key (file.key_name, read
// from file.key_env_var too).
std::vector<ModelConfig> known_models(const ProviderModels& provider, const BaseUrl& base);

// The known models at `base_url_env` (the value of provider.base_url_env_var, or nullptr/empty for
// provider.default_base_url), merged with <user_dir>/<provider.file.file_name> when that file
// exists (merge_models). Throws ConfigError for a bad base URL (naming the variable) or a
// malformed or unreadable file.
std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env,
                                     const ProviderModels& provider);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_MODELS_FILE_HPP
