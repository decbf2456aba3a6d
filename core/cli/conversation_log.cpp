#include "conversation_log.hpp"

#include <llmrt/error.hpp>

#include <boost/json.hpp>
#include <ctime>

#include "cli_output.hpp"
#include "prompt_log.hpp"

namespace llmrt::cli {
namespace {

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string options_json(const OptionValues& options) {
  boost::json::object object;
  for (const auto& [name, value] : options) object[name] = value;
  return boost::json::serialize(object);
}

}  // namespace

LoggedConversation load_logged_conversation(const std::filesystem::path& user_dir, bool latest,
                                            const std::string& cid) {
  const std::filesystem::path path = log::log_path(user_dir);
  std::error_code ignored;
  if (!std::filesystem::exists(path, ignored)) {
    throw Error(ErrorCode::usage,
                "no conversation to continue: the log " + path.string() + " does not exist yet");
  }
  try {
    const log::PromptLog prompt_log(path);
    std::string id = cid;
    if (latest) {
      const std::optional<std::string> found = prompt_log.latest_conversation_id();
      if (!found) throw Error(ErrorCode::usage, "no conversation to continue: the log is empty");
      id = *found;
    }
    const std::vector<log::LoggedResponse> turns = prompt_log.conversation(id);
    if (turns.empty())
      throw Error(ErrorCode::usage, "no conversation with id '" + id + "' in the log");
    LoggedConversation loaded;
    loaded.model = turns.back().model;
    loaded.start.id = id;
    for (const log::LoggedResponse& turn : turns) {
      if (!turn.system.empty()) loaded.start.system = turn.system;
      loaded.start.history.push_back({"user", turn.prompt});
      loaded.start.history.push_back({"assistant", turn.reply});
    }
    return loaded;
  } catch (const log::LogError& error) {
    throw Error(ErrorCode::io, error.what());
  }
}

void log_turn(const std::filesystem::path& user_dir, const Conversation& conversation,
              std::string_view prompt, const std::string& system, const OptionValues& options,
              const Response& response, std::chrono::steady_clock::duration took) {
  try {
    if (!log::logging_enabled(user_dir)) return;
    log::LoggedResponse entry;
    entry.conversation_id = conversation.id();
    entry.model = response.model_id;
    entry.prompt = std::string(prompt);
    entry.system = system;
    entry.reply = response.text;
    entry.options_json = options_json(options);
    entry.usage = response.usage;
    entry.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    entry.datetime_utc = now_utc();
    entry.key_source = std::string(to_string(response.key_source));
    entry.key_fingerprint = response.key_fingerprint;
    log::PromptLog(log::log_path(user_dir)).record(entry);
  } catch (const std::exception& error) {
    print_error(std::string("the reply was not logged: ") + error.what());
  }
}

}  // namespace llmrt::cli
