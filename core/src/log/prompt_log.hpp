// The prompt log: every prompt and reply the CLI sends, in SQLite (logs.db in the user directory),
// searchable with FTS5. Like Python llm's logs.db, but it never holds a key: only where the key
// came from and its fingerprint.
//
// Ownership: a PromptLog owns its SQLite connection. Threading: one PromptLog per thread; several
// processes may log to the same file at once (WAL mode, and a busy timeout: a writer waits up to
// kBusyTimeout for another to finish).
// Errors: every member throws LogError with a message naming the file and SQLite's reason.
#ifndef LLMRT_LOG_PROMPT_LOG_HPP
#define LLMRT_LOG_PROMPT_LOG_HPP

#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace llmrt::log {

class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How long a writer waits for another process's write to finish before giving up.
inline constexpr std::chrono::milliseconds kBusyTimeout{5000};

// One logged call. Nothing in it is a key.
struct LoggedResponse {
  std::int64_t id = 0;           // row id, eg: 42
  std::string conversation_id;   // eg: "018c2f...": every response belongs to one
  std::string model;             // eg: "echo"
  std::string prompt;            // the newest user turn
  std::string system;            // "" when none
  std::string reply;             // what the model wrote
  std::string options_json;      // the options as given, eg: {"temperature":"0.2"}
  std::optional<Usage> usage;    // as the plugin reported it
  std::int64_t duration_ms = 0;  // wall time of the call
  std::string datetime_utc;      // eg: "2026-11-30T10:52:09Z"
  std::string key_source;        // eg: "per-call", "environment", "none"
  std::string key_fingerprint;   // eg: "sha256:3f2a9c01b7de"; "" when no key was sent
};

// What `llmrt logs` asks for. Newest first.
struct LogQuery {
  std::size_t limit = 3;        // 0: all
  std::string model;            // "": any
  std::string text;             // full-text search over prompts and replies; "": none
  std::string conversation_id;  // "": any
};

class PromptLog {
 public:
  // Opens (creating it and its directory if needed) and migrates the log at `path`.
  explicit PromptLog(const std::filesystem::path& path);
  ~PromptLog();
  PromptLog(const PromptLog&) = delete;
  PromptLog& operator=(const PromptLog&) = delete;

  // The schema version this build writes; a file newer than it is refused, not downgraded.
  static int current_schema_version();
  int schema_version() const;

  // Adds one response (its id is ignored) and its conversation if new.
  void record(const LoggedResponse& response);

  std::vector<LoggedResponse> find(const LogQuery& query) const;
  // The conversation of the most recent response, if any.
  std::optional<std::string> latest_conversation_id() const;
  // Every response of one conversation, oldest first.
  std::vector<LoggedResponse> conversation(const std::string& id) const;

 private:
  void migrate();
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Where the log lives: <user_dir>/logs.db.
std::filesystem::path log_path(const std::filesystem::path& user_dir);
// Logging is on unless the file <user_dir>/logs-off exists (`llmrt logs off`).
bool logging_enabled(const std::filesystem::path& user_dir);
void set_logging_enabled(const std::filesystem::path& user_dir, bool enabled);

}  // namespace llmrt::log

#endif  // LLMRT_LOG_PROMPT_LOG_HPP
