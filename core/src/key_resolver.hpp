// Where the key for one call comes from. The whole order lives in resolve_key(); docs/keys.md
// describes the same order, case by case.
#ifndef LLMRT_KEY_RESOLVER_HPP
#define LLMRT_KEY_RESOLVER_HPP

#include <llmrt/key.hpp>
#include <llmrt/model.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "credential.hpp"
#include "credentials/providers.hpp"
#include "model_instance.hpp"

namespace llmrt {

// The credential chosen for one call. It holds it only for as long as the call needs it: a copied
// key is wiped when the last holder lets go; a shared one (an instance key, a cached credential) is
// merely kept alive.
class ResolvedKey {
 public:
  ResolvedKey() = default;
  ResolvedKey(Key owned, KeySource source)
      : credential_(std::make_shared<const Credential>(Credential{std::move(owned), {}, {}})),
        source_(source) {}
  ResolvedKey(std::shared_ptr<const Credential> credential, KeySource source,
              std::shared_ptr<const credentials::CredentialProvider> provider = nullptr)
      : credential_(std::move(credential)), source_(source), provider_(std::move(provider)) {}

  // A version of a stored key: which name and label it was (for the Response, and for taking it
  // out of rotation when the provider rejects it).
  void set_version(std::string name, std::string label) {
    version_name_ = std::move(name);
    version_label_ = std::move(label);
  }
  const std::string& version_name() const { return version_name_; }
  const std::string& version_label() const { return version_label_; }

  // nullptr when no key is to be sent.
  const Key* key() const { return credential_ ? &credential_->key : nullptr; }
  const Credential* credential() const { return credential_.get(); }
  KeySource source() const { return source_; }

  // The plugin refused this credential (LLMRT_KEY_REJECTED): tells the provider that gave it, so
  // that a cache drops it if it is still the current one.
  void key_rejected() const {
    if (provider_ && credential_) provider_->rejected(credential_);
  }

 private:
  std::shared_ptr<const Credential> credential_;
  KeySource source_ = KeySource::none;
  std::shared_ptr<const credentials::CredentialProvider> provider_;
  std::string version_name_;   // "" unless the key is a version of a stored key
  std::string version_label_;  // eg: "pending"
};

// The current version of the stored key `name`, for the retry after another version was rejected.
// An empty ResolvedKey if it is gone.
ResolvedKey resolve_current_version(const ModelInstance& instance, const std::string& name,
                                    KeySource source);

// Chooses the key for one call of `instance`'s model, in this order:
//   models that do not accept keys get none (an explicit key is reported in `warnings`, not sent);
//   1. options.key (per call, a literal)  or  options.key_name (a keys-file entry named per call);
//   2. the instance key;
//   3. the sources credentials.json lists for the model's key_name, in its order; without an entry
//      the default order: the model's environment variable (empty = unset), then its keys-file
//      entry. Sources: environment, environment_file, keys_file, command.
// A keys-file entry with versions gives one version per call: options.key_version if it is still
// in rotation, else one chosen by weight (docs/keys.md#key-versions).
// The first source that has a key wins; a source that is configured but broken ends the search
// with an error naming it (it never falls through to the next one).
// Throws Error(key_missing) if the model requires a key and none was found, Error(key_invalid)
// for an unacceptable key, Error(usage) if both key and key_name are given, Error(keys_file)
// for an unsafe or corrupt keys file, Error(credential_source) for a broken configured source or
// an unusable credentials.json. `options.key` is moved out.
ResolvedKey resolve_key(const ModelInstance& instance, PromptOptions& options,
                        std::vector<std::string>& warnings);

}  // namespace llmrt

#endif  // LLMRT_KEY_RESOLVER_HPP
