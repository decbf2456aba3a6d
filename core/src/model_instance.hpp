// The state behind a Model handle: which plugin model it calls, its own key and default options,
// and what every call needs from the runtime that made it.
#ifndef LLMRT_MODEL_INSTANCE_HPP
#define LLMRT_MODEL_INSTANCE_HPP

#include <llmrt/keys_file.hpp>
#include <llmrt/model.hpp>
#include <llmrt/runtime.hpp>

#include <memory>
#include <mutex>

#include "credential.hpp"
#include "credentials/sources.hpp"
#include "key_versions/version_choice.hpp"
#include "lazy_plugin.hpp"
#include "model_binding.hpp"

namespace llmrt {

class ThreadPool;

// Shared by every model of one runtime; lives as long as any of them.
struct CallContext {
  EnvironmentLookup environment;  // never empty
  KeysFile keys_file;
  // credentials.json, read when the runtime was made; null: the default order.
  std::shared_ptr<const credentials::CredentialSources> credentials;
  // The weighted choice among versions of stored keys, and where their rejection is reported.
  std::shared_ptr<key_versions::VersionDraw> version_draw;
  std::function<void(std::string_view)> error_log;  // never empty
};

class ModelInstance {
 public:
  ModelInstance(std::shared_ptr<const LazyModel> binding,
                std::shared_ptr<const CallContext> context, std::weak_ptr<ThreadPool> pool,
                OptionValues default_options, std::optional<Key> key)
      : binding_(std::move(binding)),
        context_(std::move(context)),
        pool_(std::move(pool)),
        default_options_(std::move(default_options)) {
    if (key) key_ = std::make_shared<const Credential>(Credential{std::move(*key), {}, {}});
  }

  // The model's description; no plugin code is needed for it.
  const ModelInfo& info() const { return binding_->info(); }
  // The model as listed: its schema, and its address as the model's lane in the async pool.
  const LazyModel& model() const { return *binding_; }
  // The model's code: loads its plugin on the first call (lazy loading). Throws
  // Error(plugin_load) when the plugin cannot be loaded.
  const ModelBinding& binding() const { return binding_->binding(); }
  const CallContext& context() const { return *context_; }
  const OptionValues& default_options() const { return default_options_; }
  std::shared_ptr<ThreadPool> pool() const { return pool_.lock(); }

  // The instance key for one call; the call holds it until it returns, even if it is replaced.
  std::shared_ptr<const Credential> key() const {
    std::lock_guard lock(key_mutex_);
    return key_;
  }
  void set_key(Key key) {
    auto replacement = key.empty()
                           ? nullptr
                           : std::make_shared<const Credential>(Credential{std::move(key), {}, {}});
    std::lock_guard lock(key_mutex_);
    key_ = std::move(replacement);
  }

 private:
  std::shared_ptr<const LazyModel> binding_;
  std::shared_ptr<const CallContext> context_;
  std::weak_ptr<ThreadPool> pool_;
  OptionValues default_options_;
  mutable std::mutex key_mutex_;
  std::shared_ptr<const Credential> key_;
};

}  // namespace llmrt

#endif  // LLMRT_MODEL_INSTANCE_HPP
