// The prompt log's schema: a log written by an older llmrt is migrated in place, keeping its rows
// (and making them searchable); a log from a newer llmrt is refused, never downgraded.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "prompt_log.hpp"
#include "test_support.hpp"

namespace llmrt::log {
namespace {

// The schema as the first version wrote it (migration 1), with one response.
constexpr const char* kVersion1Log = R"sql(
  CREATE TABLE conversations (id TEXT PRIMARY KEY, model TEXT NOT NULL, created_utc TEXT NOT NULL);
  CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    model TEXT NOT NULL, prompt TEXT NOT NULL, system TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL, options_json TEXT NOT NULL DEFAULT '{}', duration_ms INTEGER NOT NULL,
    datetime_utc TEXT NOT NULL, key_source TEXT NOT NULL, key_fingerprint TEXT NOT NULL DEFAULT '');
  CREATE INDEX responses_by_conversation ON responses(conversation_id, id);
  INSERT INTO conversations VALUES ('c1', 'echo', '2026-01-01T00:00:00Z');
  INSERT INTO responses(conversation_id, model, prompt, reply, duration_ms, datetime_utc,
                        key_source)
    VALUES ('c1', 'echo', 'an old walrus prompt', 'an old reply', 3, '2026-01-01T00:00:00Z',
            'none');
  PRAGMA user_version = 1;
)sql";

void write_raw(const std::filesystem::path& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(PromptLogSchema, AVersionOneLogIsMigratedKeepingItsRowsAndMakingThemSearchable) {
  test::TempDir dir;
  const auto path = dir.path() / "logs.db";
  write_raw(path, kVersion1Log);
  PromptLog log(path);
  EXPECT_EQ(log.schema_version(), PromptLog::current_schema_version());
  const std::vector<LoggedResponse> found = log.find({.limit = 0, .text = "walrus"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].reply, "an old reply");
  EXPECT_FALSE(found[0].usage.has_value());
  log.record({.conversation_id = "c1",
              .model = "echo",
              .prompt = "a new walrus",
              .reply = "r",
              .usage = Usage{4, 5, ""},
              .datetime_utc = "2026-01-02T00:00:00Z",
              .key_source = "none"});
  const std::vector<LoggedResponse> both = log.find({.limit = 0, .text = "walrus"});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].usage->output_tokens, 5);
  EXPECT_EQ(log.conversation("c1").size(), 2u);
}

TEST(PromptLogSchema, ALogFromANewerLlmrtIsRefusedAndLeftAlone) {
  test::TempDir dir;
  const auto path = dir.path() / "logs.db";
  write_raw(path, "CREATE TABLE future(x); PRAGMA user_version = 99;");
  try {
    PromptLog log(path);
    FAIL() << "a newer schema was accepted";
  } catch (const LogError& error) {
    EXPECT_NE(std::string(error.what()).find("schema version 99, newer than"), std::string::npos)
        << error.what();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), 99);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST(PromptLogSchema, ANewLogIsCreatedAtTheCurrentVersionInWalMode) {
  test::TempDir dir;
  const auto path = dir.path() / "sub" / "logs.db";
  PromptLog log(path);
  EXPECT_EQ(log.schema_version(), PromptLog::current_schema_version());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "sub" / "logs.db-wal"));
}

}  // namespace
}  // namespace llmrt::log
