#include "models_file.hpp"

#include <cctype>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

#include "ascii.hpp"

namespace llmrt::provider {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxIdLength = 128;
constexpr std::uintmax_t kMaxFileSize = 4u << 20;

// The same rule the host applies to model ids: a bad id would make it refuse the whole plugin.
bool valid_model_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), [](char c) {
    return is_ascii_alnum(c) || std::string_view("._:/@+-").find(c) != std::string_view::npos;
  });
}

// The host's rule for key names (llmrt keys set NAME).
bool valid_key_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return is_ascii_alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

// An HTTP header name (RFC 9110 token), and not one the plugin sets itself.
bool valid_header_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  std::string lower;
  for (const char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower != "authorization" && lower != "content-type" && lower != "accept" &&
         lower != "host" && lower != "content-length" && lower != "x-api-key" &&
         lower != "proxy-authorization" && lower != "connection" && lower != "transfer-encoding";
}

bool valid_env_var_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '_'; });
}

bool is_official_api(const BaseUrl& base, std::string_view official_host) {
  return base.host == official_host;
}

// "line 3, column 7" for a byte offset.
std::string position_of(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

class ModelsFileParser {
 public:
  ModelsFileParser(const BaseUrl& default_base, std::string_view file,
                   const ProviderDefaults& provider)
      : default_base_(default_base), file_(file), provider_(provider) {}

  std::vector<ModelConfig> parse(std::string_view text) {
    json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    json::stream_parser parser({}, options);
    boost::system::error_code ec;
    const std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      fail("not valid JSON at " + position_of(text, consumed) + " (" + ec.message() + ")");
    }
    const json::value root = parser.release();

    const json::array* models = nullptr;
    if (root.is_array()) {
      models = &root.as_array();
    } else if (root.is_object()) {
      for (const auto& [name, value] : root.as_object()) {
        if (name == "models") {
          if (!value.is_array()) fail("\"models\" must be an array of model objects");
          models = &value.as_array();
        } else if (!std::string_view(name).starts_with("//")) {
          fail("unknown top-level field \"" + std::string(name) + "\" (expected \"models\")");
        }
      }
      if (models == nullptr) fail("the object has no \"models\" array");
    } else {
      fail("must be a JSON array of model objects, or an object with a \"models\" array");
    }

    std::vector<ModelConfig> result;
    std::set<std::string, std::less<>> ids;
    for (std::size_t i = 0; i < models->size(); ++i) {
      ModelConfig model = parse_model((*models)[i], "models[" + std::to_string(i) + "]");
      if (!ids.insert(model.id).second) {
        fail("models[" + std::to_string(i) + "]: the id \"" + model.id + "\" is declared twice");
      }
      result.push_back(std::move(model));
    }
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(std::string(file_) + ": " + what);
  }

  std::string string_field(const json::value& value, const std::string& where,
                           std::string_view name) const {
    if (!value.is_string()) fail(where + ": \"" + std::string(name) + "\" must be a string");
    return std::string(value.as_string());
  }

  bool bool_field(const json::value& value, const std::string& where, std::string_view name) const {
    if (!value.is_bool()) fail(where + ": \"" + std::string(name) + "\" must be true or false");
    return value.as_bool();
  }

  ModelConfig parse_model(const json::value& value, const std::string& where) const {
    if (!value.is_object()) fail(where + " must be an object with at least an \"id\"");
    std::optional<std::string> id, upstream, display_name, api_base, key_name, key_env_var,
        session_token_header;
    std::optional<bool> needs_key, no_key;
    std::optional<std::string> ca_file;
    std::optional<std::int64_t> max_connections;
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name_view, field] : value.as_object()) {
      const std::string_view name = name_view;
      if (name == "id") {
        id = string_field(field, where, name);
      } else if (name == "model") {
        upstream = string_field(field, where, name);
      } else if (name == "display_name") {
        display_name = string_field(field, where, name);
      } else if (name == "api_base") {
        api_base = string_field(field, where, name);
      } else if (name == "key_name") {
        key_name = string_field(field, where, name);
      } else if (name == "key_env_var") {
        key_env_var = string_field(field, where, name);
      } else if (name == "session_token_header") {
        session_token_header = string_field(field, where, name);
      } else if (name == "needs_key") {
        needs_key = bool_field(field, where, name);
      } else if (name == "no_key") {
        no_key = bool_field(field, where, name);
      } else if (name == "ca_file") {
        ca_file = string_field(field, where, name);
        if (ca_file->empty()) fail(where + ": \"ca_file\" must not be empty");
      } else if (name == "max_connections") {
        if (!field.is_int64() || field.as_int64() < 1 || field.as_int64() > 1024) {
          fail(where + ": \"max_connections\" must be an integer from 1 to 1024");
        }
        max_connections = field.as_int64();
      } else if (name == "headers") {
        headers = header_fields(field, where);
      } else if (!name.starts_with("//")) {
        fail(where + ": unknown field \"" + std::string(name) +
             "\" (known: id, model, display_name, api_base, key_name, key_env_var, "
             "session_token_header, needs_key, no_key, headers, ca_file, max_connections)");
      }
    }

    if (!id) fail(where + " has no \"id\"");
    if (!valid_model_id(*id)) {
      fail(where + ": the id \"" + *id +
           "\" is not valid (1-128 characters among letters, digits and ._:/@+-)");
    }
    const std::string at = where + " (\"" + *id + "\")";

    ModelConfig model;
    model.id = *id;
    model.display_name = display_name.value_or("");
    model.upstream_model = upstream.value_or(*id);
    model.headers = std::move(headers);
    model.ca_file = ca_file.value_or("");
    model.max_connections =
        static_cast<std::size_t>(max_connections.value_or(kDefaultMaxConnections));
    if (model.upstream_model.empty()) fail(at + ": \"model\" must not be empty");
    if (api_base) {
      try {
        model.base = parse_base_url(*api_base, "\"api_base\"");
      } catch (const ConfigError& error) {
        fail(at + ": " + error.what());
      }
    } else {
      model.base = default_base_;
    }

    if (no_key.value_or(false)) {
      if (key_name || key_env_var || session_token_header || needs_key.value_or(false)) {
        fail(at +
             ": \"no_key\": true cannot be combined with \"key_name\", \"key_env_var\" or "
             "\"needs_key\": true");
      }
      model.accepts_key = false;
      model.requires_key = false;
      return model;
    }

    model.accepts_key = true;
    if (session_token_header) {
      if (!valid_header_name(*session_token_header)) {
        fail(at + ": the session_token_header \"" + *session_token_header +
             "\" is not an HTTP header name");
      }
      model.session_token_header = *session_token_header;
    }
    model.key_name = key_name.value_or(provider_.key_name);
    if (!valid_key_name(model.key_name)) {
      fail(at + ": the key_name \"" + model.key_name +
           "\" is not valid (1-128 characters among letters, digits and ._-)");
    }
    if (key_env_var) {
      model.key_env_var = *key_env_var;  // "" means: no environment variable
      if (!model.key_env_var.empty() && !valid_env_var_name(model.key_env_var)) {
        fail(at + ": the key_env_var \"" + model.key_env_var + "\" is not a variable name");
      }
    } else if (model.key_name == provider_.key_name) {
      model.key_env_var = provider_.key_env_var;
    }
    // A model on the default server (or on OpenAI itself) needs a key like the default models; a
    // model on a server of its own (typically local) gets a key when one is found, but can do
    // without.
    model.requires_key =
        needs_key.value_or(!api_base || is_official_api(model.base, provider_.official_host));
    return model;
  }

  // "headers": {"OpenAI-Organization": "org-..."}: names must be header names the plugin does not
  // set itself, values printable text on one line.
  std::vector<std::pair<std::string, std::string>> header_fields(const json::value& value,
                                                                 const std::string& where) const {
    if (!value.is_object()) fail(where + ": \"headers\" must be an object of header: value");
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, text] : value.as_object()) {
      const std::string header(name);
      if (!valid_header_name(header)) {
        fail(where + ": \"headers\": \"" + header +
             "\" is not a header name the plugin lets a file set");
      }
      if (!text.is_string()) fail(where + ": \"headers\": \"" + header + "\" must be a string");
      const std::string_view content = text.as_string();
      for (const char c : content) {
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) {
          fail(where + ": \"headers\": the value of \"" + header + "\" has a control character");
        }
      }
      headers.emplace_back(header, std::string(content));
    }
    return headers;
  }

  const BaseUrl& default_base_;
  std::string_view file_;
  const ProviderDefaults& provider_;
};

}  // namespace

BaseUrl parse_base_url(std::string_view url, std::string_view what) {
  const auto fail = [&](const std::string& why) -> ConfigError {
    return ConfigError(std::string(what) + " \"" + std::string(url) +
                       "\" is not a usable base URL (" + why + ")");
  };
  std::string scheme;
  if (starts_with_nocase(url, "https://")) {
    scheme = "https";
  } else if (starts_with_nocase(url, "http://")) {
    scheme = "http";
  } else {
    throw fail("it must start with http:// or https://");
  }
  std::string_view rest = url.substr(scheme.size() + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    throw fail("it must not have a query or a fragment");
  }
  for (const char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) throw fail("it contains a space");
  }
  const std::size_t authority_end = std::min(rest.find('/'), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    throw fail("credentials in the URL are not supported; use a key instead");
  }

  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw fail("an IPv6 address needs a closing ]");
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) throw fail("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
    if (host.size() <= 2) throw fail("it has no host");
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) throw fail("it has no host");
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return is_ascii_alnum(c) || c == '-' || c == '.' || c == '_';
        })) {
      throw fail("the host name has characters that are not allowed");
    }
  }
  if (!port.empty() || authority.ends_with(':')) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
      throw fail("the port must be a number from 1 to 65535");
    }
  }
  while (path.ends_with('/')) path.remove_suffix(1);

  BaseUrl base;
  std::string lower_host;
  std::transform(host.begin(), host.end(), std::back_inserter(lower_host), ascii_lower);
  base.origin = scheme + "://" + lower_host + (port.empty() ? "" : ":" + std::string(port));
  base.path_prefix = std::string(path);
  base.text = base.origin + base.path_prefix;
  base.host = host.starts_with('[') ? lower_host.substr(1, lower_host.size() - 2) : lower_host;
  base.port = port.empty() ? (scheme == "https" ? 443 : 80) : std::stoi(std::string(port));
  return base;
}

std::vector<ModelConfig> parse_models_file(std::string_view json, const BaseUrl& default_base,
                                           std::string_view file,
                                           const ProviderDefaults& provider) {
  return ModelsFileParser(default_base, file, provider).parse(json);
}

std::vector<ModelConfig> merge_models(std::vector<ModelConfig> defaults,
                                      std::vector<ModelConfig> configured) {
  for (ModelConfig& model : configured) {
    auto same = std::find_if(defaults.begin(), defaults.end(),
                             [&](const ModelConfig& known) { return known.id == model.id; });
    if (same != defaults.end()) {
      *same = std::move(model);
    } else {
      defaults.push_back(std::move(model));
    }
  }
  return defaults;
}

std::optional<std::string> read_models_file(std::string_view user_dir, std::string_view file_name) {
  if (user_dir.empty()) return std::nullopt;
  const std::filesystem::path path = std::filesystem::path(user_dir) / file_name;
  const std::string file = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (ec) throw ConfigError(file + ": cannot be read (" + ec.message() + ")");
  if (status.type() != std::filesystem::file_type::regular) {
    throw ConfigError(file + ": is not a regular file");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileSize) throw ConfigError(file + ": is larger than 4 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot be opened (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(file + ": cannot be read");
  return text.str();
}

std::vector<ModelConfig> known_models(const ProviderModels& provider, const BaseUrl& base) {
  std::vector<ModelConfig> models;
  for (const KnownModel& known : provider.known) {
    ModelConfig model;
    model.id = known.id;
    model.display_name = known.display_name;
    model.upstream_model = known.id;
    model.base = base;
    model.accepts_key = true;
    model.requires_key = true;
    model.key_name = provider.file.key_name;
    model.key_env_var = provider.file.key_env_var;
    models.push_back(std::move(model));
  }
  return models;
}

std::vector<ModelConfig> load_models(std::string_view user_dir, const char* base_url_env,
                                     const ProviderModels& provider) {
  const bool from_env = base_url_env != nullptr && *base_url_env != '\0';
  const BaseUrl base =
      parse_base_url(from_env ? std::string_view(base_url_env) : provider.default_base_url,
                     from_env ? provider.base_url_env_var : "the default");
  std::vector<ModelConfig> models = known_models(provider, base);
  const std::optional<std::string> text = read_models_file(user_dir, provider.file.file_name);
  if (!text) return models;
  const std::string file = (std::filesystem::path(user_dir) / provider.file.file_name).string();
  return merge_models(std::move(models), parse_models_file(*text, base, file, provider.file));
}

}  // namespace llmrt::provider
