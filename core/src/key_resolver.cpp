#include "key_resolver.hpp"

#include <llmrt/error.hpp>

namespace llmrt {
namespace {

std::string how_to_provide(const ModelInfo& model) {
  std::string ways = "pass one with --key (or PromptOptions::key)";
  if (!model.key_env_var.empty()) ways += ", set " + model.key_env_var;
  ways += ", or store one with `llmrt keys set " + model.key_name + "`";
  return ways;
}

// A model that cannot take a key never gets one, but a key given on purpose is never dropped
// silently either.
void warn_key_not_sent(const ModelInfo& model, std::string_view what,
                       std::vector<std::string>& warnings) {
  const std::string why = model.abi_version >> 16 == 1
                              ? "its plugin was built for ABI 1.0, before keys existed"
                              : "it does not accept keys";
  warnings.push_back("model '" + model.id + "' does not use keys (" + why + "); " +
                     std::string(what) + " was not sent");
}

ResolvedKey from_keys_file(const ModelInstance& instance, std::string_view name, KeySource source) {
  std::optional<Key> stored = instance.context().keys_file.get(name);
  if (!stored) return {};
  validate_key(stored->reveal(), "the key stored as '" + std::string(name) + "' in " +
                                     instance.context().keys_file.path().string());
  return ResolvedKey(std::move(*stored), source);
}

}  // namespace

ResolvedKey resolve_key(const ModelInstance& instance, PromptOptions& options,
                        std::vector<std::string>& warnings) {
  const ModelInfo& model = instance.binding().info();
  if (options.key && !options.key_name.empty()) {
    throw Error(ErrorCode::usage, "give either a key or the name of a stored key, not both");
  }
  if (!model.accepts_key) {
    if (options.key) warn_key_not_sent(model, "the key given for this call", warnings);
    if (!options.key_name.empty()) {
      warn_key_not_sent(model, "the stored key '" + options.key_name + "'", warnings);
    }
    if (!options.key && options.key_name.empty() && instance.key()) {
      warn_key_not_sent(model, "the model instance's key", warnings);
    }
    options.key.reset();
    return {};
  }

  // 1. Per call: a literal key, or a stored key named explicitly.
  if (options.key) {
    validate_key(options.key->reveal(), "the key given for this call");
    Key key = std::move(*options.key);
    options.key.reset();
    return ResolvedKey(std::move(key), KeySource::per_call);
  }
  if (!options.key_name.empty()) {
    validate_key_name(options.key_name);
    ResolvedKey named = from_keys_file(instance, options.key_name, KeySource::stored_name);
    if (named.key() == nullptr) {
      throw Error(ErrorCode::key_missing, "no stored key named '" + options.key_name + "' in " +
                                              instance.context().keys_file.path().string() +
                                              "; add it with `llmrt keys set " + options.key_name +
                                              "`");
    }
    return named;
  }

  // 2. The instance key (create_model settings, or legacy set_key).
  if (auto shared = instance.key()) {
    validate_key(shared->key.reveal(), "the model instance's key");
    return ResolvedKey(std::move(shared), KeySource::instance);
  }

  // 3. The environment variable the model names; empty counts as unset.
  if (!model.key_env_var.empty()) {
    const char* value = instance.context().environment(model.key_env_var.c_str());
    if (value != nullptr && *value != '\0') {
      Key key{std::string_view(value)};
      validate_key(key.reveal(), "the key from " + model.key_env_var);
      return ResolvedKey(std::move(key), KeySource::environment);
    }
  }

  // 4. The model's own entry in the keys file.
  ResolvedKey stored = from_keys_file(instance, model.key_name, KeySource::keys_file);
  if (stored.key() != nullptr) return stored;

  if (model.requires_key) {
    throw Error(ErrorCode::key_missing,
                "model '" + model.id + "' needs a key: " + how_to_provide(model));
  }
  return {};
}

}  // namespace llmrt
