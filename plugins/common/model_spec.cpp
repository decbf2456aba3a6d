#include "model_spec.hpp"

#include <cstdio>
#include <string>

namespace llmrt::provider {

void refuse_keyless_call(const ModelConfig& model) {
  if (model.requires_key) {
    throw sdk::Error(LLMRT_BAD_REQUEST,
                     "model '" + model.id + "' needs a key (" + model.key_name + ")");
  }
}

std::vector<ModelConfig> load_or_explain(std::string_view plugin,
                                         const std::function<std::vector<ModelConfig>()>& load) {
  try {
    return load();
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "llmrt: the %.*s plugin is not loaded: %s\n",
                 static_cast<int>(plugin.size()), plugin.data(), error.what());
    throw;
  }
}

sdk::DynamicModelSpec model_spec(const ModelConfig& model, const char* options_schema,
                                 std::unique_ptr<sdk::DynamicModel> implementation) {
  sdk::DynamicModelSpec spec;
  spec.id = model.id;
  spec.display_name = model.display_name;
  spec.accepts_key = model.accepts_key;
  spec.requires_key = model.accepts_key && model.requires_key;
  spec.key_name = model.accepts_key ? model.key_name : std::string();
  spec.key_env_var = model.accepts_key ? model.key_env_var : std::string();
  spec.streaming = true;
  spec.conversation = true;  // both APIs take the whole conversation as messages
  spec.reentrant = true;
  spec.deterministic = false;
  spec.options_schema = options_schema;
  spec.model = std::move(implementation);
  return spec;
}

}  // namespace llmrt::provider
