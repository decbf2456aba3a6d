// openai: OpenAI's Chat Completions API, and any server that speaks it (llama.cpp, Ollama, vLLM,
// LiteLLM, ...). The model list is OpenAI's current chat models plus the models declared in
// <user_dir>/openai-models.json; OPENAI_BASE_URL moves the default models to another server.
// See docs/plugins/openai.md.
#include <llmrt/sdk_dynamic.hpp>

#include <cstdlib>
#include <memory>
#include <vector>

#include "chat_client.hpp"
#include "chat_request.hpp"
#include "config.hpp"
#include "model_spec.hpp"

namespace {

using llmrt::openai::ModelConfig;

class OpenAiModel final : public llmrt::sdk::DynamicModel {
 public:
  explicit OpenAiModel(ModelConfig config) : config_(std::move(config)) {}

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) override {
    llmrt::provider::refuse_keyless_call(config_);
    run(prompt, out, {}, {});
  }

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out,
               const llmrt::sdk::Key& key) override {
    run(prompt, out, key.value(), key.session_token());
  }

 private:
  // Everything here is per call: the model object holds only its configuration, so calls may run
  // on any number of threads at once.
  void run(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out, std::string_view key,
           std::string_view session_token) const {
    const llmrt::openai::CallOptions options =
        llmrt::openai::parse_call_options(prompt.options_json);
    llmrt::openai::ChatCall call;
    // Every prompt the SDK passes carries its conversation (empty when the host sent none).
    const llmrt::sdk::ConversationPrompt& conversation = llmrt::sdk::as_conversation(prompt);
    llmrt::openai::ConversationInput input{conversation.system(), {}};
    for (const llmrt::sdk::Message turn : conversation.history()) {
      input.history.push_back({turn.role, turn.content});
    }
    call.body = llmrt::openai::build_chat_request(config_.upstream_model, prompt.text, options,
                                                  prompt.stream, input);
    call.stream = prompt.stream;
    call.key = key;
    call.session_token = session_token;
    call.upstream_model = config_.upstream_model;
    static_cast<llmrt::provider::TransportOptions&>(call) = options;  // timeouts and retries
    llmrt::openai::send_chat(config_, call, out);
  }

  const ModelConfig config_;
};

std::vector<llmrt::sdk::DynamicModelSpec> make_models(const llmrt::sdk::HostInfo& host) {
  std::vector<ModelConfig> models = llmrt::provider::load_or_explain("openai", [&] {
    return llmrt::openai::load_models(host.user_dir, std::getenv(llmrt::openai::kBaseUrlEnvVar));
  });
  std::vector<llmrt::sdk::DynamicModelSpec> specs;
  specs.reserve(models.size());
  for (const ModelConfig& model : models) {
    specs.push_back(llmrt::provider::model_spec(model, llmrt::openai::options_schema(),
                                                std::make_unique<OpenAiModel>(model)));
  }
  return specs;
}

}  // namespace

LLMRT_PLUGIN_DYNAMIC("openai", "1.0.0", make_models)
