#include "tenants.hpp"

#include <llmrt/error.hpp>
#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>

#include <boost/json.hpp>

#include "safe_file.hpp"
#include "session_keys.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

bool is_comment(std::string_view name) {
  return name.starts_with("//");
}

bool is_key_name(std::string_view name) {
  try {
    validate_key_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

Tenants Tenants::load(const std::filesystem::path& path) {
  // It decides which keys a tenant's calls use: the caller's own regular file, not writable by
  // group or others, read without blocking and with a size limit.
  std::optional<SafeFile> file =
      SafeFile::open(path, {"tenants file", ErrorCode::io, false, kMaxTenantsFileSize});
  if (!file) {
    throw Error(ErrorCode::io,
                "cannot read the tenants file '" + path.string() + "': it does not exist");
  }
  const SecretString text = file->read();
  return parse(std::string_view(text.data(), text.size()), "tenants file '" + path.string() + "'");
}

Tenants Tenants::parse(std::string_view text, const std::string& origin) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::usage, origin + " " + why);
  };
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec) throw bad("is not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) throw bad("must be a JSON object with a \"tenants\" object");
  const json::value* tenants = nullptr;
  for (const auto& member : root.as_object()) {
    if (member.key() == "tenants") {
      tenants = &member.value();
    } else if (!is_comment(member.key())) {
      throw bad("has an unknown member " + quoted_key_name(member.key()) +
                " (expected \"tenants\")");
    }
  }
  if (tenants == nullptr || !tenants->is_object()) {
    throw bad(
        "must have a \"tenants\" object, eg: {\"tenants\": {\"acme\": {\"keys\": "
        "{\"openai\": \"acme-openai\"}}}}");
  }
  Tenants result;
  for (const auto& [name, tenant] : tenants->as_object()) {
    if (is_comment(name)) continue;
    const std::string where = "tenant " + quoted_key_name(name.substr(0, 64));
    if (!is_tenant_name(name)) {
      throw bad("has an invalid tenant name " + quoted_key_name(name.substr(0, 64)) +
                ": use 1 to 64 of the characters A-Z a-z 0-9 _ -");
    }
    if (!tenant.is_object()) throw bad(where + " must be an object with a \"keys\" object");
    auto& keys = result.tenants_[std::string(name)];
    for (const auto& [member, value] : tenant.as_object()) {
      if (is_comment(member)) continue;
      if (member != "keys") {
        throw bad(where + " has an unknown member " + quoted_key_name(member) +
                  " (expected \"keys\")");
      }
      if (!value.is_object()) throw bad(where + " \"keys\" must be an object");
      for (const auto& [key_name, entry] : value.as_object()) {
        if (is_comment(key_name)) continue;
        if (!is_key_name(key_name)) {
          throw bad(where + " has an invalid key name " + quoted_key_name(key_name.substr(0, 128)));
        }
        if (!entry.is_string() || !is_key_name(entry.as_string())) {
          throw bad(where + " maps " + quoted_key_name(key_name) +
                    " to something that is not a keys-file entry name (1 to 128 of A-Z a-z 0-9 . "
                    "_ -)");
        }
        keys.emplace(std::string(key_name), std::string(entry.as_string()));
      }
    }
  }
  return result;
}

bool Tenants::contains(std::string_view tenant) const {
  return tenants_.find(tenant) != tenants_.end();
}

std::optional<std::string> Tenants::entry_for(std::string_view tenant,
                                              std::string_view key_name) const {
  const auto found = tenants_.find(tenant);
  if (found == tenants_.end()) return std::nullopt;
  const auto entry = found->second.find(key_name);
  if (entry == found->second.end()) return std::nullopt;
  return entry->second;
}

std::set<std::string> Tenants::entries() const {
  std::set<std::string> names;
  for (const auto& [tenant, keys] : tenants_) {
    for (const auto& [key_name, entry] : keys) names.insert(entry);
  }
  return names;
}

}  // namespace llmrt::serve
