// The CLI's side of the prompt log: which logged conversation a prompt continues (-c, --cid), and
// writing each turn to logs.db. A turn that cannot be logged is never lost: the reply has already
// been printed, the logging error goes to stderr, and the exit code stays 0.
#ifndef LLMRT_CLI_CONVERSATION_LOG_HPP
#define LLMRT_CLI_CONVERSATION_LOG_HPP

#include <llmrt/conversation.hpp>
#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmrt::cli {

// A logged conversation read back to be continued.
struct LoggedConversation {
  std::string model;        // the model it was held with, eg: "echo"
  ConversationStart start;  // its id, its last system prompt, and every turn
};

// The conversation -c (`latest`) or --cid ID names. Throws Error(usage) when there is none, and
// Error(io) when the log cannot be read.
LoggedConversation load_logged_conversation(const std::filesystem::path& user_dir, bool latest,
                                            const std::string& cid);

// Writes one turn to <user_dir>/logs.db unless logging is off. Never throws: a failure is printed
// as an error on stderr and the caller goes on.
void log_turn(const std::filesystem::path& user_dir, const Conversation& conversation,
              std::string_view prompt, const std::string& system, const OptionValues& options,
              const Response& response, std::chrono::steady_clock::duration took);

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_CONVERSATION_LOG_HPP
