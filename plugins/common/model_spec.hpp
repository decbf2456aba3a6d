// What a provider plugin tells the host about its models, and how it refuses to load: the glue
// between a ModelConfig and the SDK's DynamicModelSpec that every provider plugin would otherwise
// write again. The plugin keeps its own model class (what a call sends and where).
#ifndef LLMRT_PROVIDER_MODEL_SPEC_HPP
#define LLMRT_PROVIDER_MODEL_SPEC_HPP

#include <llmrt/sdk_dynamic.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "models_file.hpp"

namespace llmrt::provider {

// Throws sdk::Error(LLMRT_BAD_REQUEST, "model '<id>' needs a key (<key_name>)") when `model`
// requires a key: the host checks this before a call without one, another host might not.
void refuse_keyless_call(const ModelConfig& model);

// The model list `load` gives. When it throws ConfigError, says why on stderr ("llmrt: the
// <plugin> plugin is not loaded: <reason>"), since the host only learns that the plugin refused to
// load, and rethrows. (The configuration holds no keys: the message cannot contain one.) Runs on
// the thread of the plugin's factory.
std::vector<ModelConfig> load_or_explain(std::string_view plugin,
                                         const std::function<std::vector<ModelConfig>()>& load);

// What the host is told about `model`: its id and display name, its key (none unless it accepts
// one; required only then), and what every provider model does: it streams, reads conversations,
// serves calls on any number of threads at once, and is not deterministic. `options_schema` is
// the plugin's (static storage); `implementation` (mandatory) answers the calls.
sdk::DynamicModelSpec model_spec(const ModelConfig& model, const char* options_schema,
                                 std::unique_ptr<sdk::DynamicModel> implementation);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_MODEL_SPEC_HPP
