// anthropic: Anthropic's Messages API. The model list is Anthropic's current models plus the models
// declared in <user_dir>/anthropic-models.json; ANTHROPIC_BASE_URL moves the default models to
// another server. The key goes in "x-api-key" (not Authorization): where a key goes is the
// plugin's business, never the host's. See docs/plugins/anthropic.md.
#include <llmrt/sdk_dynamic.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "config.hpp"
#include "messages_client.hpp"
#include "messages_request.hpp"

namespace {

using llmrt::anthropic::ModelConfig;

class AnthropicModel final : public llmrt::sdk::DynamicModel {
 public:
  explicit AnthropicModel(ModelConfig config) : config_(std::move(config)) {}

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) override {
    if (config_.requires_key) {  // the host checks this first; another host might not
      throw llmrt::sdk::Error(LLMRT_BAD_REQUEST,
                              "model '" + config_.id + "' needs a key (" + config_.key_name + ")");
    }
    run(prompt, out, {});
  }

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out,
               const llmrt::sdk::Key& key) override {
    run(prompt, out, key.value());
  }

 private:
  // Everything here is per call: the model holds only its configuration, so calls may run on any
  // number of threads at once.
  void run(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out, std::string_view key) const {
    const llmrt::anthropic::CallOptions options =
        llmrt::anthropic::parse_call_options(prompt.options_json);
    const llmrt::sdk::ConversationPrompt& conversation = llmrt::sdk::as_conversation(prompt);
    std::vector<llmrt::anthropic::Turn> history;
    for (const llmrt::sdk::Message turn : conversation.history()) {
      history.push_back({turn.role, turn.content});
    }
    llmrt::anthropic::MessagesCall call;
    call.body =
        llmrt::anthropic::build_messages_request(config_.upstream_model, prompt.text, options,
                                                 prompt.stream, conversation.system(), history);
    call.stream = prompt.stream;
    call.key = key;
    static_cast<llmrt::provider::TransportOptions&>(call) = options;  // timeouts and retries
    llmrt::anthropic::send_messages(config_, call, out);
  }

  const ModelConfig config_;
};

std::vector<llmrt::sdk::DynamicModelSpec> make_models(const llmrt::sdk::HostInfo& host) {
  std::vector<ModelConfig> models;
  try {
    models =
        llmrt::anthropic::load_models(host.user_dir, std::getenv(llmrt::anthropic::kBaseUrlEnvVar));
  } catch (const llmrt::provider::ConfigError& error) {
    // The host only learns that the plugin refused to load: say why where a person will see it.
    std::fprintf(stderr, "llmrt: the anthropic plugin is not loaded: %s\n", error.what());
    throw;
  }
  std::vector<llmrt::sdk::DynamicModelSpec> specs;
  specs.reserve(models.size());
  for (ModelConfig& model : models) {
    llmrt::sdk::DynamicModelSpec spec;
    spec.id = model.id;
    spec.display_name = model.display_name;
    spec.accepts_key = model.accepts_key;
    spec.requires_key = model.accepts_key && model.requires_key;
    spec.key_name = model.accepts_key ? model.key_name : std::string();
    spec.key_env_var = model.accepts_key ? model.key_env_var : std::string();
    spec.streaming = true;
    spec.conversation = true;  // the Messages API takes the whole conversation
    spec.reentrant = true;
    spec.deterministic = false;
    spec.options_schema = llmrt::anthropic::options_schema();
    spec.model = std::make_unique<AnthropicModel>(std::move(model));
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace

LLMRT_PLUGIN_DYNAMIC("anthropic", "1.0.0", make_models)
