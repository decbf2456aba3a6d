// What ABI 2.2 adds to one call, host side: the conversation fields of llmrt_prompt (sent only to
// models that read conversations) and the usage report of llmrt_sink (kept at most once).
#ifndef LLMRT_CONVERSATION_CALL_HPP
#define LLMRT_CONVERSATION_CALL_HPP

#include <llmrt/plugin.h>
#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <optional>
#include <string>
#include <vector>

namespace llmrt {

// The system prompt and earlier turns of one call, as the ABI borrows them. Lives on the caller's
// stack for the call; points into `options`, which must outlive it.
class ConversationFields {
 public:
  // For a model that does not read conversations, nothing is sent and, when there was something to
  // send, a warning saying what was left out is added to `warnings`.
  ConversationFields(const ModelInfo& model, const PromptOptions& options,
                     std::vector<std::string>& warnings);

  // Sets the 2.2 fields of `prompt` and its struct_size: the full 2.2 size for a model that reads
  // conversations, the 2.1 size (none of it visible) for any other.
  void apply(llmrt_prompt& prompt) const;

 private:
  bool send_ = false;
  llmrt_str system_{nullptr, 0};
  std::vector<llmrt_message> history_;
};

// The host side of llmrt_sink::usage for one call. Not thread-safe: a call's sink is used by the
// thread running it only.
class UsageReport {
 public:
  // The sink's usage callback, for a report given for this call. Copies it; a second report is
  // ignored (the first is kept) and noted as a breach.
  void report(const llmrt_usage* usage) noexcept;
  // Called on every write: output after the report is a breach (usage comes after the last chunk).
  void saw_write() noexcept {
    if (usage_) wrote_after_ = true;
  }

  const std::optional<Usage>& usage() const { return usage_; }
  // Warnings for the Response about how the plugin broke the usage rules, if it did.
  void add_warnings(const std::string& model_id, std::vector<std::string>& warnings) const;

 private:
  std::optional<Usage> usage_;
  bool reported_twice_ = false;
  bool malformed_ = false;
  bool wrote_after_ = false;
};

}  // namespace llmrt

#endif  // LLMRT_CONVERSATION_CALL_HPP
