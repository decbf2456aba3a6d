// anthropic: Anthropic's Messages API. The model list is Anthropic's current models plus the models
// declared in <user_dir>/anthropic-models.json; ANTHROPIC_BASE_URL moves the default models to
// another server. The key goes in "x-api-key" (not Authorization): where a key goes is the
// plugin's business, never the host's. See docs/plugins/anthropic.md.
#include <llmrt/sdk_dynamic.hpp>

#include <cstdlib>
#include <memory>
#include <vector>

#include "config.hpp"
#include "messages_client.hpp"
#include "messages_request.hpp"
#include "model_spec.hpp"

namespace {

using llmrt::anthropic::ModelConfig;

class AnthropicModel final : public llmrt::sdk::DynamicModel {
 public:
  explicit AnthropicModel(ModelConfig config) : config_(std::move(config)) {}

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) override {
    llmrt::provider::refuse_keyless_call(config_);
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
  std::vector<ModelConfig> models = llmrt::provider::load_or_explain("anthropic", [&] {
    return llmrt::anthropic::load_models(host.user_dir,
                                         std::getenv(llmrt::anthropic::kBaseUrlEnvVar));
  });
  std::vector<llmrt::sdk::DynamicModelSpec> specs;
  specs.reserve(models.size());
  for (const ModelConfig& model : models) {
    specs.push_back(llmrt::provider::model_spec(model, llmrt::anthropic::options_schema(),
                                                std::make_unique<AnthropicModel>(model)));
  }
  return specs;
}

}  // namespace

LLMRT_PLUGIN_DYNAMIC("anthropic", "1.0.0", make_models)
