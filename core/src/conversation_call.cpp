#include "conversation_call.hpp"

#include <cstddef>

namespace llmrt {
namespace {

constexpr std::size_t kMaxUsageDetails = 64 * 1024;

}  // namespace

ConversationFields::ConversationFields(const ModelInfo& model, const PromptOptions& options,
                                       std::vector<std::string>& warnings) {
  if (options.system.empty() && options.history.empty()) return;
  if (!model.conversation) {
    std::string left_out;
    if (!options.system.empty()) left_out = "the system prompt";
    if (!options.history.empty()) {
      if (!left_out.empty()) left_out += " and ";
      left_out += std::to_string(options.history.size()) + " earlier turn" +
                  (options.history.size() == 1 ? "" : "s");
    }
    warnings.push_back("model '" + model.id + "' does not read conversations: " + left_out +
                       (!options.system.empty() + options.history.size() > 1 ? " were" : " was") +
                       " not sent, only the last prompt");
    return;
  }
  send_ = true;
  system_ = {options.system.data(), options.system.size()};
  history_.reserve(options.history.size());
  for (const Message& turn : options.history) {
    history_.push_back(
        {{turn.role.data(), turn.role.size()}, {turn.content.data(), turn.content.size()}});
  }
}

void ConversationFields::apply(llmrt_prompt& prompt) const {
  if (!send_) {
    prompt.struct_size = offsetof(llmrt_prompt, system);
    return;
  }
  prompt.struct_size = sizeof(llmrt_prompt);
  prompt.system = system_;
  prompt.history = history_.empty() ? nullptr : history_.data();
  prompt.history_count = history_.size();
}

void UsageReport::report(const llmrt_usage* usage) noexcept {
  if (usage_) {
    reported_twice_ = true;
    return;
  }
  if (usage == nullptr ||
      usage->struct_size < offsetof(llmrt_usage, details_json) + sizeof(usage->details_json) ||
      (usage->details_json.size > 0 && usage->details_json.data == nullptr)) {
    malformed_ = true;
    return;
  }
  try {
    Usage copy;
    copy.input_tokens = usage->input_tokens < 0 ? -1 : usage->input_tokens;
    copy.output_tokens = usage->output_tokens < 0 ? -1 : usage->output_tokens;
    if (usage->details_json.size <= kMaxUsageDetails) {
      copy.details_json.assign(usage->details_json.data, usage->details_json.size);
    }
    usage_ = std::move(copy);
  } catch (...) {
    malformed_ = true;
  }
}

void UsageReport::add_warnings(const std::string& model_id,
                               std::vector<std::string>& warnings) const {
  if (!reported_twice_ && !wrote_after_ && !malformed_) return;  // the usual case: no string built
  const std::string who = "model '" + model_id + "' ";
  if (reported_twice_) {
    warnings.push_back(who + "reported its usage more than once; the first report was kept");
  }
  if (wrote_after_) warnings.push_back(who + "wrote output after reporting its usage");
  if (malformed_) warnings.push_back(who + "sent a usage report the host could not read");
}

}  // namespace llmrt
