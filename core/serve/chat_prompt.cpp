#include "chat_prompt.hpp"

#include <boost/json.hpp>

namespace llmrt::serve {

namespace json = boost::json;

ChatPrompt chat_prompt_for(ChatRequest& chat, const ModelInfo& model,
                           const std::set<std::string>& accepted) {
  json::object options;
  ChatPrompt prompt;
  if (accepted.count("messages")) {
    options["messages"] = std::move(chat.messages);
  } else {
    if (model.conversation && !chat.not_a_conversation.empty()) {
      throw ProtocolError(chat.not_a_conversation_param, chat.not_a_conversation);
    }
    if (!chat.system_text.empty() && !model.conversation && accepted.count("system")) {
      options["system"] = chat.system_text;
    } else {
      prompt.options.system = chat.system_text;
    }
    prompt.options.history = std::move(chat.history);
  }
  for (const auto& [name, value] : chat.sampling) {
    if (accepted.count(std::string(name))) {
      options[name] = value;
    } else {
      prompt.ignored += (prompt.ignored.empty() ? "" : ",") + std::string(name);
    }
  }
  prompt.text = std::move(chat.last_user_text);
  if (!options.empty()) prompt.options.options_json = json::serialize(options);
  return prompt;
}

std::vector<std::string> warnings_in_advance(const ModelInfo& model, const PromptOptions& options,
                                             bool key_given) {
  std::vector<std::string> warnings;
  if (key_given && !model.accepts_key) {
    const std::string why = model.abi_version >> 16 == 1
                                ? "its plugin was built for ABI 1.0, before keys existed"
                                : "it does not accept keys";
    warnings.push_back("model '" + model.id + "' does not use keys (" + why +
                       "); the key given for this call was not sent");
  }
  if (!model.conversation && (!options.system.empty() || !options.history.empty())) {
    std::string left_out;
    if (!options.system.empty()) left_out = "the system prompt";
    if (!options.history.empty()) {
      if (!left_out.empty()) left_out += " and ";
      left_out += std::to_string(options.history.size()) + " earlier turn" +
                  (options.history.size() == 1 ? "" : "s");
    }
    const std::size_t parts = (options.system.empty() ? 0 : 1) + options.history.size();
    warnings.push_back("model '" + model.id + "' does not read conversations: " + left_out +
                       (parts > 1 ? " were" : " was") + " not sent, only the last prompt");
  }
  return warnings;
}

}  // namespace llmrt::serve
