#include "key_resolver.hpp"

#include <llmrt/error.hpp>
#include <llmrt/key.hpp>

#include "key_versions/versioned_entry.hpp"

namespace llmrt {
namespace {

const credentials::CredentialSources::Chain& chain_for(const CallContext& context,
                                                       const ModelInfo& model) {
  static const auto defaults = credentials::CredentialSources::defaults();
  return (context.credentials ? *context.credentials : *defaults).chain(model.key_name);
}

// Every way to give the model a key that its chain offers, eg: "pass one with --key (or
// PromptOptions::key), set OPENAI_API_KEY, or store one with `llmrt keys set openai`".
std::string how_to_provide(const ModelInfo& model,
                           const credentials::CredentialSources::Chain& chain) {
  std::vector<std::string> ways = {"pass one with --key (or PromptOptions::key)"};
  for (const auto& provider : chain) {
    switch (provider->source()) {
      case KeySource::environment:
        if (!model.key_env_var.empty()) ways.push_back("set " + model.key_env_var);
        break;
      case KeySource::environment_file:
        ways.push_back(
            "set " +
            static_cast<const credentials::EnvironmentFileProvider&>(*provider).variable() +
            " to the path of a file holding it");
        break;
      case KeySource::keys_file:
        ways.push_back("store one with `llmrt keys set " + model.key_name + "`");
        break;
      default:
        break;
    }
  }
  std::string text;
  for (std::size_t i = 0; i < ways.size(); ++i) {
    if (i > 0) text += i + 1 == ways.size() ? ", or " : ", ";
    text += ways[i];
  }
  return text;
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

ResolvedKey from_keys_file(const ModelInstance& instance, std::string_view name, KeySource source,
                           std::string_view key_version) {
  const CallContext& context = instance.context();
  std::optional<key_versions::ChosenVersion> stored = key_versions::choose_stored_key(
      context.keys_file, name, {key_version}, *context.version_draw);
  if (!stored) return {};
  validate_key(stored->key.reveal(), "the key stored as '" + std::string(name) + "' (version " +
                                         stored->label + ") in " +
                                         context.keys_file.path().string());
  ResolvedKey resolved(std::move(stored->key), source);
  resolved.set_version(std::string(name), std::move(stored->label));
  return resolved;
}

}  // namespace

ResolvedKey resolve_current_version(const ModelInstance& instance, const std::string& name,
                                    KeySource source) {
  return from_keys_file(instance, name, source, key_versions::kCurrent);
}

ResolvedKey resolve_key(const ModelInstance& instance, PromptOptions& options,
                        std::vector<std::string>& warnings) {
  const ModelInfo& model = instance.info();
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
    ResolvedKey named =
        from_keys_file(instance, options.key_name, KeySource::stored_name, options.key_version);
    if (named.key() == nullptr) {
      // A key given as a key's name (`--key-name sk-...` for `--key sk-...`) is not printed back.
      const std::string hint =
          looks_like_a_key(options.key_name)
              ? "; a key name is the name of an entry in the keys file, not a key"
              : "; add it with `llmrt keys set " + options.key_name + "`";
      throw Error(ErrorCode::key_missing, "no stored key named " +
                                              quoted_key_name(options.key_name) + " in " +
                                              instance.context().keys_file.path().string() + hint);
    }
    return named;
  }

  // 2. The instance key (create_model settings, or legacy set_key).
  if (auto shared = instance.key()) {
    validate_key(shared->key.reveal(), "the model instance's key");
    return ResolvedKey(std::move(shared), KeySource::instance);
  }

  // 3. The sources credentials.json orders for the model's key name, else environment, keys file.
  const CallContext& context = instance.context();
  const credentials::CredentialSources::Chain& chain = chain_for(context, model);
  const credentials::ProviderRequest request{model, context.environment, context.keys_file,
                                             *context.version_draw, options.key_version};
  for (const auto& provider : chain) {
    credentials::ProviderAnswer answer = provider->fetch(request);
    switch (answer.status) {
      case credentials::ProviderAnswer::Status::found: {
        ResolvedKey found(std::move(answer.credential), provider->source(), provider);
        if (!answer.version.empty()) found.set_version(model.key_name, std::move(answer.version));
        return found;
      }
      case credentials::ProviderAnswer::Status::broken:
        throw Error(answer.code, answer.problem);  // never a fall-through to the next source
      case credentials::ProviderAnswer::Status::not_found:
        break;
    }
  }

  if (model.requires_key) {
    throw Error(ErrorCode::key_missing,
                "model '" + model.id + "' needs a key: " + how_to_provide(model, chain));
  }
  return {};
}

}  // namespace llmrt
