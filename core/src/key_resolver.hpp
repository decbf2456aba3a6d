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
  ResolvedKey(std::shared_ptr<const Credential> credential, KeySource source)
      : credential_(std::move(credential)), source_(source) {}

  // nullptr when no key is to be sent.
  const Key* key() const { return credential_ ? &credential_->key : nullptr; }
  const Credential* credential() const { return credential_.get(); }
  KeySource source() const { return source_; }

 private:
  std::shared_ptr<const Credential> credential_;
  KeySource source_ = KeySource::none;
};

// Chooses the key for one call of `instance`'s model, in this order:
//   models that do not accept keys get none (an explicit key is reported in `warnings`, not sent);
//   1. options.key (per call, a literal)  or  options.key_name (a keys-file entry named per call);
//   2. the instance key; 3. the model's environment variable (empty = unset);
//   4. the model's entry in the keys file.
// Throws Error(key_missing) if the model requires a key and none was found, Error(key_invalid)
// for an unacceptable key, Error(usage) if both key and key_name are given, Error(keys_file)
// for an unsafe or corrupt keys file. `options.key` is moved out.
ResolvedKey resolve_key(const ModelInstance& instance, PromptOptions& options,
                        std::vector<std::string>& warnings);

}  // namespace llmrt

#endif  // LLMRT_KEY_RESOLVER_HPP
