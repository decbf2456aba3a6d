// credentials.json in the user directory: the order of the credential sources per key name.
//
//   {"openai": {"sources": ["environment", "environment_file", "keys_file", "command"],
//               "environment_file": "OPENAI_API_KEY_FILE",
//               "command": {"argv": ["/usr/local/bin/get-key", "openai"], "timeout_ms": 5000,
//                           "advisory_refresh_s": 300, "mandatory_refresh_s": 60}}}
//
// The per-call key (or key name) and the instance key always come first; this file orders the
// rest. A key name without an entry uses the default order: environment, keys_file. Every field is
// described in docs/keys.md#credentialsjson.
#ifndef LLMRT_CREDENTIALS_SOURCES_HPP
#define LLMRT_CREDENTIALS_SOURCES_HPP

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "credentials/providers.hpp"

namespace llmrt::credentials {

// Threading: immutable once made (the command caches inside it synchronize themselves).
class CredentialSources {
 public:
  using Chain = std::vector<std::shared_ptr<const CredentialProvider>>;

  // Reads `file`. A missing file means the default order for every key name. Never throws for a
  // file that cannot be used: the problem is kept, and every chain() call throws it.
  static std::shared_ptr<const CredentialSources> load(const std::filesystem::path& file);
  // The same, from `text` as the contents of `file` (no file-system checks).
  static std::shared_ptr<const CredentialSources> parse(std::string_view text,
                                                        const std::filesystem::path& file);
  // Only the default order (no file).
  static std::shared_ptr<const CredentialSources> defaults();

  // The providers for key name `name`, in order. Throws Error(credential_source) naming the file if
  // it could not be used.
  const Chain& chain(std::string_view name) const;

  const std::filesystem::path& path() const { return path_; }
  // Why the file could not be used; empty when it could (or does not exist).
  const std::string& error() const { return error_; }
  // The key names the file configures, sorted.
  std::vector<std::string> names() const;

 private:
  CredentialSources();

  std::filesystem::path path_;
  std::string error_;
  Chain default_chain_;
  std::map<std::string, Chain, std::less<>> chains_;
};

}  // namespace llmrt::credentials

#endif  // LLMRT_CREDENTIALS_SOURCES_HPP
