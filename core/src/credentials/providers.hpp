// The credential providers a key name's resolution chain is made of (after the per-call and the
// instance key, which always come first): environment, environment_file, keys_file, command.
#ifndef LLMRT_CREDENTIALS_PROVIDERS_HPP
#define LLMRT_CREDENTIALS_PROVIDERS_HPP

#include <llmrt/error.hpp>
#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>
#include <llmrt/model.hpp>
#include <llmrt/runtime.hpp>

#include <memory>
#include <string>

#include "credential.hpp"
#include "credentials/command.hpp"
#include "credentials/credential_cache.hpp"
#include "key_versions/version_choice.hpp"

namespace llmrt::credentials {

// A provider's answer: found (a credential), not found (try the next provider), or broken (the
// source is configured but does not work: the call fails with an Error naming it, and the next
// provider is NOT tried).
struct ProviderAnswer {
  enum class Status { found, not_found, broken };
  Status status = Status::not_found;
  std::shared_ptr<const Credential> credential;   // found
  ErrorCode code = ErrorCode::credential_source;  // broken
  std::string problem;                            // broken: names the source; never a key
  std::string version;                            // found in the keys file: its version label

  static ProviderAnswer found(std::shared_ptr<const Credential> credential) {
    return {Status::found, std::move(credential), ErrorCode::credential_source, {}};
  }
  static ProviderAnswer found(Key key) {
    return found(std::make_shared<const Credential>(Credential{std::move(key), {}, {}}));
  }
  static ProviderAnswer not_found() { return {}; }
  static ProviderAnswer broken(std::string problem, ErrorCode code = ErrorCode::credential_source) {
    return {Status::broken, nullptr, code, std::move(problem)};
  }
};

// What a provider may look at for one call.
struct ProviderRequest {
  const ModelInfo& model;
  const EnvironmentLookup& environment;
  const KeysFile& keys_file;
  key_versions::VersionDraw& version_draw;  // chooses among versions of a stored key
  std::string_view key_version;             // the version the call sticks to, "" for none
};

// Threading: fetch() and rejected() may be called from any number of threads at once.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  virtual KeySource source() const = 0;
  // Found, not found or broken. A key that was found but is not a valid key throws
  // Error(key_invalid) naming where it came from (as every source always has).
  virtual ProviderAnswer fetch(const ProviderRequest& request) const = 0;
  // The plugin refused `credential`, which this provider gave (LLMRT_KEY_REJECTED).
  virtual void rejected(const std::shared_ptr<const Credential>& credential) const {
    (void)credential;
  }
};

// The model's key_env_var; empty or unset is not found.
class EnvironmentProvider final : public CredentialProvider {
 public:
  KeySource source() const override { return KeySource::environment; }
  ProviderAnswer fetch(const ProviderRequest& request) const override;
};

// A variable naming a file that holds the key (Docker's *_FILE convention). Variable empty or
// unset: not found. Variable set and the file missing, unreadable, not a regular file, empty or
// larger than any key: broken. One trailing newline ("\n" or "\r\n") is removed.
class EnvironmentFileProvider final : public CredentialProvider {
 public:
  explicit EnvironmentFileProvider(std::string variable) : variable_(std::move(variable)) {}
  KeySource source() const override { return KeySource::environment_file; }
  ProviderAnswer fetch(const ProviderRequest& request) const override;
  const std::string& variable() const { return variable_; }

 private:
  std::string variable_;
};

// The model's own entry (its key_name) in keys.json, read afresh each time; with versions, one is
// chosen per call (key_versions/version_choice.hpp). An unsafe or corrupt
// keys file is broken, with the keys_file code it has always had.
class KeysFileProvider final : public CredentialProvider {
 public:
  KeySource source() const override { return KeySource::keys_file; }
  ProviderAnswer fetch(const ProviderRequest& request) const override;
};

// A credential command, through its cache. Never not found: it either gives a credential or is
// broken.
class CommandProvider final : public CredentialProvider {
 public:
  explicit CommandProvider(std::shared_ptr<CredentialCache> cache) : cache_(std::move(cache)) {}
  KeySource source() const override { return KeySource::command; }
  ProviderAnswer fetch(const ProviderRequest& request) const override;
  void rejected(const std::shared_ptr<const Credential>& credential) const override {
    cache_->invalidate(credential);
  }
  const std::shared_ptr<CredentialCache>& cache() const { return cache_; }

 private:
  std::shared_ptr<CredentialCache> cache_;
};

}  // namespace llmrt::credentials

#endif  // LLMRT_CREDENTIALS_PROVIDERS_HPP
