#include "prompt_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

#include "safe_file.hpp"
#include "sqlite_statement.hpp"

namespace llmrt::log {
namespace {

// The WAL is checkpointed into logs.db, and emptied, once it holds this many pages (256 KiB):
// small, since every process that opens the log reads the whole WAL again.
constexpr int kWalCheckpointPages = 64;

// SQLite's WAL hook, called after each commit with the WAL's size in pages.
int checkpoint_when_large(void*, sqlite3* db, const char* database, int pages) {
  if (pages >= kWalCheckpointPages) {
    // Without waiting: while another process uses the log, TRUNCATE would hold the write lock and
    // wait (up to the busy timeout) for it, and the processes queued behind could time out. Busy,
    // it copies what it can and leaves the WAL; the next commit past the mark tries again.
    sqlite3_busy_timeout(db, 0);
    sqlite3_wal_checkpoint_v2(db, database, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  }
  return SQLITE_OK;
}

// Each migration brings the schema from version N to N + 1; never edit one that has shipped, add a
// new one. PRAGMA user_version holds the version.
constexpr const char* kMigrations[] = {
    // 1: conversations and responses.
    R"sql(
    CREATE TABLE conversations (
      id TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      created_utc TEXT NOT NULL
    );
    CREATE TABLE responses (
      id INTEGER PRIMARY KEY,
      conversation_id TEXT NOT NULL REFERENCES conversations(id),
      model TEXT NOT NULL,
      prompt TEXT NOT NULL,
      system TEXT NOT NULL DEFAULT '',
      reply TEXT NOT NULL,
      options_json TEXT NOT NULL DEFAULT '{}',
      duration_ms INTEGER NOT NULL,
      datetime_utc TEXT NOT NULL,
      key_source TEXT NOT NULL,
      key_fingerprint TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX responses_by_conversation ON responses(conversation_id, id);
    )sql",
    // 2: token usage as the plugin reported it (NULL: not reported).
    R"sql(
    ALTER TABLE responses ADD COLUMN input_tokens INTEGER;
    ALTER TABLE responses ADD COLUMN output_tokens INTEGER;
    ALTER TABLE responses ADD COLUMN usage_details TEXT;
    )sql",
    // 3: full-text search over prompts and replies, kept in step by triggers.
    R"sql(
    CREATE VIRTUAL TABLE responses_fts USING fts5(
      prompt, reply, content='responses', content_rowid='id');
    INSERT INTO responses_fts(responses_fts) VALUES ('rebuild');
    CREATE TRIGGER responses_fts_insert AFTER INSERT ON responses BEGIN
      INSERT INTO responses_fts(rowid, prompt, reply) VALUES (new.id, new.prompt, new.reply);
    END;
    CREATE TRIGGER responses_fts_delete AFTER DELETE ON responses BEGIN
      INSERT INTO responses_fts(responses_fts, rowid, prompt, reply)
        VALUES ('delete', old.id, old.prompt, old.reply);
    END;
    )sql",
    // 4: the version of a stored key the call used, eg: 'pending' ('' for other key sources).
    R"sql(
    ALTER TABLE responses ADD COLUMN key_version TEXT NOT NULL DEFAULT '';
    )sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

constexpr const char* kColumns =
    "r.id, r.conversation_id, r.model, r.prompt, r.system, r.reply, r.options_json, "
    "r.input_tokens, r.output_tokens, r.usage_details, r.duration_ms, r.datetime_utc, "
    "r.key_source, r.key_fingerprint, r.key_version";

LoggedResponse read_row(const Statement& row) {
  LoggedResponse r;
  r.id = row.integer(0);
  r.conversation_id = row.text(1);
  r.model = row.text(2);
  r.prompt = row.text(3);
  r.system = row.text(4);
  r.reply = row.text(5);
  r.options_json = row.text(6);
  if (!row.is_null(7) || !row.is_null(8)) {
    Usage usage;
    usage.input_tokens = row.is_null(7) ? -1 : row.integer(7);
    usage.output_tokens = row.is_null(8) ? -1 : row.integer(8);
    usage.details_json = row.text(9);
    r.usage = std::move(usage);
  }
  r.duration_ms = row.integer(10);
  r.datetime_utc = row.text(11);
  r.key_source = row.text(12);
  r.key_fingerprint = row.text(13);
  r.key_version = row.text(14);
  return r;
}

// Words of `text` as FTS5 phrases ("a" "b"): what a user types is searched for, never parsed as
// FTS5 query syntax (where eg: a stray quote or `-` is an error).
std::string fts_phrases(const std::string& text) {
  std::string query;
  std::string word;
  const auto flush = [&] {
    if (word.empty()) return;
    if (!query.empty()) query += ' ';
    query += '"';
    for (const char c : word) query += (c == '"') ? std::string("\"\"") : std::string(1, c);
    query += '"';
    word.clear();
  };
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      flush();
    } else {
      word += c;
    }
  }
  flush();
  return query;
}

// The log holds every prompt and reply: like the keys file, only its owner may read it. Its
// directory is made 0700 and the file itself 0600 before SQLite opens it (SQLite would create it
// 0644, and gives the -wal and -shm files the database's mode). An existing log keeps its mode.
void create_private(const std::filesystem::path& path) {
  try {
    if (path.has_parent_path()) make_private_directories(path.parent_path(), ErrorCode::io);
  } catch (const Error& error) {
    throw LogError(std::string("cannot create the log: ") + error.what());
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd >= 0) ::close(fd);  // an empty file is an empty database; SQLite reports any failure
}

}  // namespace

PromptLog::PromptLog(const std::filesystem::path& path) : path_(path.string()) {
  create_private(path);
  const int status = sqlite3_open_v2(
      path_.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  try {
    if (status != SQLITE_OK) fail(db_, path_, "cannot open the log");
    sqlite3_busy_timeout(db_, static_cast<int>(kBusyTimeout.count()));
    // WAL lets readers and one writer work at once across processes; NORMAL sync is safe in WAL
    // (a power loss may lose the newest rows, never the file).
    execute(db_, path_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "cannot open the log");
    // Each prompt is its own process, so closing is what costs: by default the last connection to
    // close checkpoints and deletes the WAL (two fdatasync calls, and the next process creates the
    // WAL again with two more), 0.6-0.9 ms of a 5 ms prompt. The WAL is kept instead, and emptied
    // by checkpoint_when_large. SQLite's own autocheckpoint would not do: it never restarts the WAL
    // when every process opens it afresh, so the WAL would grow, and each open reads all of it.
    sqlite3_wal_hook(db_, &checkpoint_when_large, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    migrate();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

PromptLog::~PromptLog() {
  sqlite3_close_v2(db_);
}

int PromptLog::current_schema_version() {
  return kSchemaVersion;
}

int PromptLog::schema_version() const {
  Statement version(db_, path_, "PRAGMA user_version");
  return version.step("cannot read the log") ? static_cast<int>(version.integer(0)) : 0;
}

void PromptLog::migrate() {
  if (schema_version() == kSchemaVersion) return;
  // IMMEDIATE takes the write lock first, so two processes never migrate the same file at once;
  // the version is read again under the lock.
  execute(db_, path_, "BEGIN IMMEDIATE", "cannot migrate the log");
  try {
    const int found = schema_version();
    if (found > kSchemaVersion) {
      throw LogError("the log " + path_ + " has schema version " + std::to_string(found) +
                     ", newer than this llmrt's " + std::to_string(kSchemaVersion) +
                     "; upgrade llmrt");
    }
    for (int version = found; version < kSchemaVersion; ++version) {
      execute(db_, path_, kMigrations[version], "cannot migrate the log");
    }
    const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    execute(db_, path_, set_version.c_str(), "cannot migrate the log");
    execute(db_, path_, "COMMIT", "cannot migrate the log");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void PromptLog::record(const LoggedResponse& response) {
  constexpr std::string_view kWhat = "cannot write to the log";
  execute(db_, path_, "BEGIN IMMEDIATE", kWhat);
  try {
    Statement conversation(db_, path_,
                           "INSERT OR IGNORE INTO conversations(id, model, created_utc) "
                           "VALUES (?1, ?2, ?3)");
    conversation.bind(1, response.conversation_id);
    conversation.bind(2, response.model);
    conversation.bind(3, response.datetime_utc);
    conversation.step(kWhat);

    Statement insert(db_, path_,
                     "INSERT INTO responses(conversation_id, model, prompt, system, reply, "
                     "options_json, input_tokens, output_tokens, usage_details, duration_ms, "
                     "datetime_utc, key_source, key_fingerprint, key_version) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    insert.bind(1, response.conversation_id);
    insert.bind(2, response.model);
    insert.bind(3, response.prompt);
    insert.bind(4, response.system);
    insert.bind(5, response.reply);
    insert.bind(6, response.options_json);
    if (response.usage && response.usage->input_tokens >= 0) {
      insert.bind(7, response.usage->input_tokens);
    } else {
      insert.bind_null(7);
    }
    if (response.usage && response.usage->output_tokens >= 0) {
      insert.bind(8, response.usage->output_tokens);
    } else {
      insert.bind_null(8);
    }
    if (response.usage && !response.usage->details_json.empty()) {
      insert.bind(9, response.usage->details_json);
    } else {
      insert.bind_null(9);
    }
    insert.bind(10, response.duration_ms);
    insert.bind(11, response.datetime_utc);
    insert.bind(12, response.key_source);
    insert.bind(13, response.key_fingerprint);
    insert.bind(14, response.key_version);
    insert.step(kWhat);
    execute(db_, path_, "COMMIT", kWhat);
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<LoggedResponse> PromptLog::find(const LogQuery& query) const {
  std::string sql = std::string("SELECT ") + kColumns + " FROM responses r";
  if (!query.text.empty()) sql += " JOIN responses_fts f ON f.rowid = r.id";
  sql += " WHERE 1";
  if (!query.text.empty()) sql += " AND responses_fts MATCH ?1";
  if (!query.model.empty()) sql += " AND r.model = ?2";
  if (!query.conversation_id.empty()) sql += " AND r.conversation_id = ?3";
  sql += " ORDER BY r.id DESC";
  if (query.limit > 0) sql += " LIMIT " + std::to_string(query.limit);
  Statement select(db_, path_, sql);
  if (!query.text.empty()) select.bind(1, fts_phrases(query.text));
  if (!query.model.empty()) select.bind(2, query.model);
  if (!query.conversation_id.empty()) select.bind(3, query.conversation_id);
  std::vector<LoggedResponse> found;
  while (select.step("cannot read the log")) found.push_back(read_row(select));
  return found;
}

std::optional<std::string> PromptLog::latest_conversation_id() const {
  Statement select(db_, path_, "SELECT conversation_id FROM responses ORDER BY id DESC LIMIT 1");
  if (!select.step("cannot read the log")) return std::nullopt;
  return select.text(0);
}

std::vector<LoggedResponse> PromptLog::conversation(const std::string& id) const {
  Statement select(db_, path_,
                   std::string("SELECT ") + kColumns +
                       " FROM responses r WHERE r.conversation_id = ?1 ORDER BY r.id");
  select.bind(1, id);
  std::vector<LoggedResponse> found;
  while (select.step("cannot read the log")) found.push_back(read_row(select));
  return found;
}

std::filesystem::path log_path(const std::filesystem::path& user_dir) {
  return user_dir / "logs.db";
}

bool logging_enabled(const std::filesystem::path& user_dir) {
  std::error_code ignored;
  return !std::filesystem::exists(user_dir / "logs-off", ignored);
}

void set_logging_enabled(const std::filesystem::path& user_dir, bool enabled) {
  const std::filesystem::path marker = user_dir / "logs-off";
  std::error_code error;
  if (enabled) {
    std::filesystem::remove(marker, error);
  } else {
    try {
      make_private_directories(user_dir, ErrorCode::io);
    } catch (const Error& failure) {
      throw LogError(std::string("cannot change ") + marker.string() + ": " + failure.what());
    }
    std::ofstream(marker) << "llmrt does not log prompts while this file exists\n";
    if (!std::filesystem::exists(marker, error)) error = std::make_error_code(std::errc::io_error);
  }
  if (error) throw LogError("cannot change " + marker.string() + ": " + error.message());
}

}  // namespace llmrt::log
