// The gateway's tenants file: which of the operator's stored keys serves each tenant's calls.
//
//   {"tenants": {"acme": {"keys": {"openai": "acme-openai", "echo": "acme-echo"}}}}
//
// For each tenant, a map from a model's key name (ModelInfo::key_name, eg: "openai") to the name of
// an entry in the operator's keys file (eg: "acme-openai"). It holds names only, never keys.
#ifndef LLMRT_SERVE_TENANTS_HPP
#define LLMRT_SERVE_TENANTS_HPP

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace llmrt::serve {

// The largest tenants file read.
inline constexpr std::size_t kMaxTenantsFileSize = 1024 * 1024;

class Tenants {
 public:
  // Reads and checks the file: Error(io) if it cannot be read or trusted (read through SafeFile:
  // never blocks; a regular file of the caller's, not writable by group or others, at most
  // kMaxTenantsFileSize), Error(usage) naming the file and
  // the fault if it is not of the shape above (tenant names [A-Za-z0-9_-]{1,64}, key names and
  // entry names 1..128 of [A-Za-z0-9._-]; members whose name starts with "//" are comments).
  static Tenants load(const std::filesystem::path& path);
  // The same from the file's text; `origin` names it in messages.
  static Tenants parse(std::string_view text, const std::string& origin);

  bool contains(std::string_view tenant) const;
  // The keys-file entry that serves `tenant`'s calls of models whose key name is `key_name`.
  std::optional<std::string> entry_for(std::string_view tenant, std::string_view key_name) const;
  // Every keys-file entry named, for a start-up check.
  std::set<std::string> entries() const;
  std::size_t size() const { return tenants_.size(); }

 private:
  // tenant -> (model key name -> keys-file entry)
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> tenants_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_TENANTS_HPP
