#include "credentials/sources.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "safe_file.hpp"

namespace llmrt::credentials {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxConfigSize = 1024 * 1024;
constexpr std::int64_t kMaxTimeoutMs = 10 * 60 * 1000;
constexpr std::int64_t kMaxRefreshSeconds = 24 * 60 * 60;

// A problem with the file's contents, caught once and kept as the file's error.
struct Invalid {
  std::string what;
};

bool is_comment(std::string_view name) {
  return name.starts_with("//");
}

bool is_variable_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::int64_t integer_field(const json::object& object, std::string_view field,
                           std::int64_t fallback, std::int64_t low, std::int64_t high,
                           const std::string& where) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) return fallback;
  std::int64_t number = 0;
  if (value->is_int64()) {
    number = value->as_int64();
  } else if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(high)) {
    number = static_cast<std::int64_t>(value->as_uint64());
  } else {
    throw Invalid{where + ": \"" + std::string(field) + "\" must be a whole number"};
  }
  if (number < low || number > high) {
    throw Invalid{where + ": \"" + std::string(field) + "\" must be between " +
                  std::to_string(low) + " and " + std::to_string(high)};
  }
  return number;
}

void refuse_unknown_fields(const json::object& object,
                           std::initializer_list<std::string_view> known,
                           const std::string& where) {
  for (const auto& member : object) {
    const std::string_view name = member.key();
    if (is_comment(name) || std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (std::string_view field : known) list += (list.empty() ? "" : ", ") + std::string(field);
    throw Invalid{where + " has an unknown field '" + std::string(name) + "' (known: " + list +
                  ")"};
  }
}

std::shared_ptr<const CredentialProvider> make_command(const json::value& value,
                                                       const std::string& name,
                                                       const std::string& where) {
  const std::string here = where + ", \"command\"";
  if (!value.is_object()) throw Invalid{here + " must be an object"};
  const json::object& object = value.as_object();
  refuse_unknown_fields(object, {"argv", "timeout_ms", "advisory_refresh_s", "mandatory_refresh_s"},
                        here);
  const json::value* argv = object.if_contains("argv");
  if (argv == nullptr || !argv->is_array() || argv->as_array().empty()) {
    throw Invalid{here + ": \"argv\" must be a non-empty array of strings"};
  }
  CommandSpec spec;
  for (const json::value& argument : argv->as_array()) {
    if (!argument.is_string()) throw Invalid{here + ": \"argv\" must hold strings only"};
    const json::string& text = argument.as_string();
    if (text.find('\0') != json::string::npos) {
      throw Invalid{here + ": \"argv\" has a string with a NUL byte"};
    }
    spec.argv.emplace_back(text.data(), text.size());
  }
  if (!spec.argv[0].starts_with('/')) {
    throw Invalid{here +
                  ": the program, argv[0], must be an absolute path (it is run directly, "
                  "without a shell or a PATH search)"};
  }
  spec.timeout =
      std::chrono::milliseconds(integer_field(object, "timeout_ms", 5000, 1, kMaxTimeoutMs, here));
  RefreshPolicy policy;
  policy.advisory = std::chrono::seconds(
      integer_field(object, "advisory_refresh_s", 300, 0, kMaxRefreshSeconds, here));
  policy.mandatory = std::chrono::seconds(
      integer_field(object, "mandatory_refresh_s", 60, 0, kMaxRefreshSeconds, here));
  if (policy.mandatory > policy.advisory) {
    throw Invalid{here +
                  ": \"mandatory_refresh_s\" must not be larger than \"advisory_refresh_s\""};
  }
  // Named by the program only: its arguments come from this file, but are not shown anywhere.
  const std::string source_name =
      "the credential command for '" + name + "' (" + spec.argv[0] + ")";
  auto cache = std::make_shared<CredentialCache>(
      source_name, [spec] { return run_credential_command(spec); }, policy);
  return std::make_shared<CommandProvider>(std::move(cache));
}

CredentialSources::Chain make_chain(const std::string& name, const json::value& value,
                                    const CredentialSources::Chain& defaults) {
  const std::string where = "the entry '" + name + "'";
  if (!value.is_object()) throw Invalid{where + " must be an object"};
  const json::object& object = value.as_object();
  refuse_unknown_fields(object, {"sources", "environment_file", "command"}, where);

  std::vector<std::string> order;
  if (const json::value* sources = object.if_contains("sources")) {
    if (!sources->is_array()) throw Invalid{where + ": \"sources\" must be an array of names"};
    for (const json::value& source : sources->as_array()) {
      if (!source.is_string()) throw Invalid{where + ": \"sources\" must hold names only"};
      std::string source_name(source.as_string());
      if (source_name != "environment" && source_name != "environment_file" &&
          source_name != "keys_file" && source_name != "command") {
        throw Invalid{where + ": unknown source '" + source_name.substr(0, 64) +
                      "' (sources: environment, environment_file, keys_file, command)"};
      }
      if (std::find(order.begin(), order.end(), source_name) != order.end()) {
        throw Invalid{where + ": source '" + source_name + "' is listed twice"};
      }
      order.push_back(std::move(source_name));
    }
  } else {
    order = {"environment", "keys_file"};
  }
  const auto listed = [&](std::string_view source) {
    return std::find(order.begin(), order.end(), source) != order.end();
  };
  for (std::string_view field : {"environment_file", "command"}) {
    if (object.contains(field) && !listed(field)) {
      throw Invalid{where + ": \"" + std::string(field) +
                    "\" is configured but \"sources\" does not list it"};
    }
    if (listed(field) && !object.contains(field)) {
      throw Invalid{where + ": \"sources\" lists '" + std::string(field) + "' but there is no \"" +
                    std::string(field) + "\" field to configure it"};
    }
  }

  CredentialSources::Chain chain;
  for (const std::string& source : order) {
    if (source == "environment") {
      chain.push_back(defaults[0]);
    } else if (source == "keys_file") {
      chain.push_back(defaults[1]);
    } else if (source == "environment_file") {
      const json::value& variable = object.at("environment_file");
      if (!variable.is_string() || !is_variable_name(variable.as_string())) {
        throw Invalid{where +
                      ": \"environment_file\" must be the name of an environment "
                      "variable (letters, digits and _)"};
      }
      chain.push_back(std::make_shared<EnvironmentFileProvider>(std::string(variable.as_string())));
    } else {
      chain.push_back(make_command(object.at("command"), name, where));
    }
  }
  return chain;
}

std::string in_quotes(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

}  // namespace

CredentialSources::CredentialSources()
    : default_chain_{std::make_shared<EnvironmentProvider>(),
                     std::make_shared<KeysFileProvider>()} {}

std::shared_ptr<const CredentialSources> CredentialSources::defaults() {
  return std::shared_ptr<const CredentialSources>(new CredentialSources());
}

std::shared_ptr<const CredentialSources> CredentialSources::parse(
    std::string_view text, const std::filesystem::path& file) {
  std::shared_ptr<CredentialSources> sources(new CredentialSources());
  sources->path_ = file;
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  try {
    if (ec) throw Invalid{"it is not valid JSON (" + ec.message() + ")"};
    if (!root.is_object()) throw Invalid{"it is not a JSON object of key names to entries"};
    for (const auto& member : root.as_object()) {
      const std::string name(member.key());
      if (is_comment(name)) continue;
      try {
        validate_key_name(name);
      } catch (const Error&) {
        throw Invalid{"the entry '" + name.substr(0, 64) +
                      "' is not a key name (1 to 128 of A-Z a-z 0-9 . _ -)"};
      }
      sources->chains_.emplace(name, make_chain(name, member.value(), sources->default_chain_));
    }
  } catch (const Invalid& invalid) {
    sources->chains_.clear();
    sources->error_ = "credentials file " + in_quotes(file) + " is invalid: " + invalid.what;
  }
  return sources;
}

std::shared_ptr<const CredentialSources> CredentialSources::load(
    const std::filesystem::path& file) {
  // It names commands that llmrt runs: whoever can write it can run code as this user. So it must
  // be the caller's own regular file, not writable by group or others (SafeFile says how to fix).
  SecretString text;
  try {
    std::optional<SafeFile> opened = SafeFile::open(
        file, {"credentials file", ErrorCode::credential_source, false, kMaxConfigSize});
    if (!opened) {
      std::shared_ptr<CredentialSources> sources(new CredentialSources());
      sources->path_ = file;
      return sources;
    }
    text = opened->read();
  } catch (const Error& error) {
    std::shared_ptr<CredentialSources> sources(new CredentialSources());
    sources->path_ = file;
    sources->error_ = error.what();
    return std::shared_ptr<const CredentialSources>(std::move(sources));
  }
  return parse(std::string(text.data(), text.size()), file);
}

const CredentialSources::Chain& CredentialSources::chain(std::string_view name) const {
  if (!error_.empty()) {
    throw Error(ErrorCode::credential_source,
                error_ + "; fix it (only a per-call or instance key works until then)");
  }
  const auto found = chains_.find(name);
  return found == chains_.end() ? default_chain_ : found->second;
}

std::vector<std::string> CredentialSources::names() const {
  std::vector<std::string> names;
  for (const auto& [name, chain] : chains_) names.push_back(name);
  return names;
}

}  // namespace llmrt::credentials
