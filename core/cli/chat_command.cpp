// llmrt chat: an interactive conversation with one model. Each line read is one turn; the
// conversation's earlier turns go with it to a model that reads conversations.
//
// Keys: --key / --key-file are read once, when the session starts, and each turn gets its own copy
// as that turn's per-call key; without them every turn resolves its key as `llmrt prompt` would.
// Every turn is logged like a prompt (unless --no-log or `llmrt logs off`).
#include <llmrt/error.hpp>
#include <llmrt/runtime.hpp>

#include <chrono>
#include <iostream>
#include <string>

#include "cli_output.hpp"
#include "commands.hpp"
#include "conversation_log.hpp"
#include "isolation_options.hpp"
#include "prompt_keys.hpp"
#include "secret_input.hpp"

namespace llmrt::cli {
namespace {

enum class Read { prompt, exit, end_of_input };

// Reads the next prompt: one line, or with `!multi` every line up to `!end`.
Read read_prompt(bool interactive, std::string& text) {
  text.clear();
  std::string line;
  if (interactive) {
    write_stdout("> ");
    flush_stdout();
  }
  if (!std::getline(std::cin, line)) return Read::end_of_input;
  if (line == "!exit" || line == "!quit") return Read::exit;
  if (line != "!multi") {
    text = line;
    return Read::prompt;
  }
  bool first = true;
  while (std::getline(std::cin, line)) {
    if (line == "!end") return Read::prompt;
    if (!first) text += '\n';
    text += line;
    first = false;
  }
  return Read::prompt;  // end of input inside !multi: send what was read
}

}  // namespace

int run_chat(PromptArgs& args) {
  check_key_flags(args);
  const std::optional<Key> session_key = take_per_call_key(args);
  // As `llmrt prompt`: --isolation and its siblings apply, and only the plugin chatted with loads.
  Runtime runtime(cli_runtime_config());
  print_load_errors(runtime.load_errors());
  std::optional<LoggedConversation> continued;
  if (args.continue_latest || !args.cid.empty()) {
    continued = load_logged_conversation(runtime.user_dir(), args.continue_latest, args.cid);
  }
  const std::string model_id = !args.model.empty() ? args.model
                               : continued         ? continued->model
                                                   : runtime.default_model_id();
  const Model model = runtime.get_model(model_id);
  Conversation conversation =
      model.conversation(continued ? std::move(continued->start) : ConversationStart{});

  const bool interactive = stdin_is_terminal();
  if (interactive) {
    write_stdout("Chatting with " + model.id() +
                 "\nType !exit to leave, !multi to start a prompt of several lines and !end to "
                 "send it.\n");
  }
  std::string text;
  bool first_turn = true;
  for (;;) {
    const Read read = read_prompt(interactive, text);
    if (read != Read::prompt) break;
    if (text.empty()) continue;
    PromptOptions options;
    if (session_key) options.key = session_key->clone();
    options.key_name = args.key_name;
    options.options = args.options;
    if (first_turn) options.system = args.system;
    bool ends_with_newline = true;
    options.on_chunk = [&](std::string_view chunk) {
      if (chunk.empty()) return true;
      write_stdout(chunk);
      flush_stdout();
      ends_with_newline = chunk.back() == '\n';
      return true;
    };
    const auto started = std::chrono::steady_clock::now();
    try {
      const Response response = conversation.prompt(text, std::move(options));
      if (!ends_with_newline) write_stdout("\n");
      flush_stdout();
      for (const std::string& warning : response.warnings) print_warning(warning);
      if (!args.no_log) {
        log_turn(runtime.user_dir(), conversation, text, conversation.system(), args.options,
                 response, std::chrono::steady_clock::now() - started);
      }
      first_turn = false;
    } catch (const Error& error) {
      // One failed turn does not end the session; it is not part of the conversation either.
      if (!ends_with_newline) write_stdout("\n");
      print_error(error.what());
    }
  }
  return kExitOk;
}

}  // namespace llmrt::cli
