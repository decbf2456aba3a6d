// Small RAII helpers over the SQLite C API for the prompt log: a prepared statement that is always
// finalized, and errors that name the file and SQLite's own reason.
#ifndef LLMRT_LOG_SQLITE_STATEMENT_HPP
#define LLMRT_LOG_SQLITE_STATEMENT_HPP

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "prompt_log.hpp"

namespace llmrt::log {

// Throws LogError: "<what> <path>: <SQLite's message>".
[[noreturn]] inline void fail(sqlite3* db, const std::string& path, std::string_view what) {
  const char* reason = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  throw LogError(std::string(what) + " " + path + ": " + reason);
}

// Runs SQL without results (several statements allowed).
inline void execute(sqlite3* db, const std::string& path, const char* sql, std::string_view what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, what);
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, std::string_view sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &statement_, nullptr) !=
        SQLITE_OK) {
      fail(db, path, "cannot read the log");
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(statement_, index, value); }
  void bind_null(int index) { sqlite3_bind_null(statement_, index); }

  // True while there is a row; throws on an error (eg: SQLITE_BUSY after the timeout).
  bool step(std::string_view what) {
    const int status = sqlite3_step(statement_);
    if (status == SQLITE_ROW) return true;
    if (status == SQLITE_DONE) return false;
    fail(db_, path_, what);
  }

  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data == nullptr ? std::string()
                           : std::string(data, sqlite3_column_bytes(statement_, column));
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* statement_ = nullptr;
};

}  // namespace llmrt::log

#endif  // LLMRT_LOG_SQLITE_STATEMENT_HPP
