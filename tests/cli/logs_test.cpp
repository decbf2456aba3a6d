// The prompt log end to end, through the real `llmrt` binary: prompts and chats are logged by
// default, continued with -c / --cid, searched with -q, printed as JSON; the key never reaches
// logs.db; and a log that cannot be written (unwritable, corrupt, locked, disk full) never costs
// the reply: it is printed, the logging error goes to stderr, and the exit code stays 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "run_cli.hpp"

namespace llmrt::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "sk-log-secret-4b1d9e";

boost::json::array logs_json(const CliRunner& cli, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"logs", "--json"};
  if (std::find(extra.begin(), extra.end(), "-n") == extra.end())
    extra.insert(extra.end(), {"-n", "0"});
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult result = cli.run(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return boost::json::parse(result.out).as_array();
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class LogsTest : public ::testing::Test {
 protected:
  std::filesystem::path db() const { return cli_.user_dir() / "logs.db"; }
  CliRunner cli_;
};

TEST_F(LogsTest, APromptWithAStoredKeyVersionLogsTheVersionLabel) {
  const std::string current = "sk-log-current-7a01";
  const std::string pending = "sk-log-pending-7a02";
  ASSERT_EQ(cli_.run({"keys", "set", "echo"}, current).exit_code, 0);
  ASSERT_EQ(cli_.run({"keys", "set", "echo", "--version", "pending", "--weight", "100"}, pending)
                .exit_code,
            0);
  ASSERT_EQ(cli_.run({"keys", "weight", "echo", "current", "0"}).exit_code, 0);
  const CliResult result = cli_.run({"prompt", "-m", "echo", "hello versions"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::array rows = logs_json(cli_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("key_source").as_string(), "keys-file");
  EXPECT_EQ(rows[0].at("key_version").as_string(), "pending");
  EXPECT_EQ(rows[0].at("key_fingerprint").as_string(), Key(pending).fingerprint());
  const CliResult text = cli_.run({"logs"});
  EXPECT_THAT(text.out, HasSubstr("(version pending)"));
  for (const std::string& key : {current, pending}) {
    EXPECT_THAT(text.out + text.err + result.out + result.err, Not(HasSubstr(key)));
    EXPECT_THAT(file_bytes(db()), Not(HasSubstr(key)));
  }
}

TEST_F(LogsTest, APromptIsLoggedWithItsKeySourceAndFingerprintButNeverTheKey) {
  const CliResult result = cli_.run({"prompt", "-m", "echo", "--key", kSecret, "hello log"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::array rows = logs_json(cli_);
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows[0].as_object();
  EXPECT_EQ(row.at("model").as_string(), "echo");
  EXPECT_EQ(row.at("prompt").as_string(), "hello log");
  EXPECT_EQ(row.at("key_source").as_string(), "per-call");
  EXPECT_EQ(row.at("key_fingerprint").as_string(), Key(kSecret).fingerprint());
  EXPECT_EQ(row.at("usage").at("input_tokens").as_int64(), 2);
  // The key's bytes are nowhere in the database or its WAL and shared-memory files.
  for (const auto& entry : std::filesystem::directory_iterator(cli_.user_dir())) {
    EXPECT_EQ(file_bytes(entry.path()).find(kSecret), std::string::npos) << entry.path();
  }
  for (const std::string& args : {std::string("logs"), std::string("logs --usage")}) {
    const CliResult shown = cli_.run(args == "logs" ? std::vector<std::string>{"logs"}
                                                    : std::vector<std::string>{"logs", "--usage"});
    EXPECT_THAT(shown.out + shown.err, Not(HasSubstr(kSecret)));
    EXPECT_THAT(shown.out, HasSubstr("hello log"));
  }
}

TEST_F(LogsTest, ContinueSendsTheLoggedTurnsAndCidPicksAConversation) {
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "-s", "be brief", "one"}).exit_code, 0);
  const CliResult second = cli_.run({"prompt", "-c", "two"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "[system: be brief]\n[history: 2 turns]\ntwo\n");
  const std::string first_id = std::string(logs_json(cli_)[0].at("conversation_id").as_string());
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "other conversation"}).exit_code, 0);
  const CliResult third = cli_.run({"prompt", "--cid", first_id, "three"});
  EXPECT_EQ(third.out, "[system: be brief]\n[history: 4 turns]\nthree\n") << third.err;
  EXPECT_EQ(logs_json(cli_, {"--cid", first_id}).size(), 3u);
  EXPECT_EQ(logs_json(cli_, {"-c"}).size(), 3u) << "the latest conversation is the continued one";
}

TEST_F(LogsTest, ContinueWithoutALogIsAClearError) {
  const CliResult result = cli_.run({"prompt", "-m", "echo", "-c", "hi"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("no conversation to continue"));
  EXPECT_EQ(cli_.run({"prompt", "-m", "echo", "--cid", "nope", "hi"}).exit_code, 2);
}

TEST_F(LogsTest, AV1ModelContinuedGetsOnlyTheLastPromptAndTheCliPrintsTheWarning) {
  ASSERT_EQ(cli_.run({"prompt", "-m", "legacy-echo", "one"}).exit_code, 0);
  const CliResult second = cli_.run({"prompt", "-c", "two"});
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.out, "two\n");
  EXPECT_THAT(second.err, HasSubstr("does not read conversations: 2 earlier turns were not sent"));
}

TEST_F(LogsTest, FullTextSearchFindsOnlyTheMatchingResponses) {
  for (const char* text : {"a banana split", "apple pie", "banana bread", "quote \" and - dash"}) {
    ASSERT_EQ(cli_.run({"prompt", "-m", "echo", text}).exit_code, 0);
  }
  const boost::json::array bananas = logs_json(cli_, {"-q", "banana"});
  ASSERT_EQ(bananas.size(), 2u);
  EXPECT_EQ(bananas[0].at("prompt").as_string(), "banana bread");  // newest first
  EXPECT_EQ(logs_json(cli_, {"-q", "apple pie"}).size(), 1u);
  EXPECT_EQ(logs_json(cli_, {"-q", "cherry"}).size(), 0u);
  // What a user types is searched for, never parsed as FTS5 syntax.
  EXPECT_EQ(logs_json(cli_, {"-q", "quote \" and -"}).size(), 1u);
  EXPECT_EQ(logs_json(cli_, {"-m", "legacy-echo"}).size(), 0u);
  EXPECT_EQ(logs_json(cli_, {"-n", "2"}).size(), 2u);
}

// Every prompt is a process of its own, and none checkpoints the WAL when it closes (that costs two
// fdatasync calls per prompt): the WAL is emptied once it passes 64 pages, so it never grows past a
// few hundred KiB, and nothing written to it is lost.
TEST_F(LogsTest, TheWriteAheadLogStaysSmallAcrossProcesses) {
  const std::string filler(3000, 'x');
  constexpr std::uintmax_t kBound = (64 + 16) * (4096 + 24) + 32;  // pages + one prompt's worth
  std::uintmax_t largest = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(
        cli_.run({"prompt", "-m", "echo", "turn " + std::to_string(i) + " " + filler}).exit_code,
        0);
    std::error_code absent;
    const std::uintmax_t size = std::filesystem::file_size(db().string() + "-wal", absent);
    if (!absent) largest = std::max(largest, size);
  }
  EXPECT_LE(largest, kBound);
  EXPECT_EQ(logs_json(cli_).size(), 60u);
}

TEST_F(LogsTest, LogsOffStopsLoggingAndOnResumesIt) {
  EXPECT_THAT(cli_.run({"logs", "path"}).out, HasSubstr((cli_.user_dir() / "logs.db").string()));
  ASSERT_EQ(cli_.run({"logs", "off"}).exit_code, 0);
  EXPECT_THAT(cli_.run({"logs", "status"}).out, HasSubstr("Logging is off"));
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "not logged"}).exit_code, 0);
  ASSERT_EQ(cli_.run({"logs", "on"}).exit_code, 0);
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "logged"}).exit_code, 0);
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "--no-log", "not this one"}).exit_code, 0);
  const boost::json::array rows = logs_json(cli_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("prompt").as_string(), "logged");
  EXPECT_THAT(cli_.run({"logs", "status"}).out, HasSubstr("Responses: 1"));
}

TEST_F(LogsTest, ChatReadsTurnsFromStdinWithOneKeyForTheSessionAndStopsAtExit) {
  const std::filesystem::path key_file = cli_.temp() / "key.txt";
  std::ofstream(key_file) << kSecret << "\n";
  ::chmod(key_file.c_str(), 0600);
  const CliResult result =
      cli_.run({"chat", "-m", "echo", "--key-file", key_file.string(), "-s", "sys"},
               "hi\n!multi\nline one\nline two\n!end\n!exit\nnever sent\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string fingerprint = Key(kSecret).fingerprint().substr(7);
  EXPECT_EQ(result.out,
            "[system: sys]\nhi\nkey-sha256: " + fingerprint +
                "\n[system: sys]\n[history: 2 turns]\nline one\nline two\nkey-sha256: " +
                fingerprint + "\n");
  const boost::json::array rows = logs_json(cli_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("conversation_id"), rows[1].at("conversation_id"));
  EXPECT_EQ(rows[0].at("key_source").as_string(), "per-call");
  EXPECT_EQ(rows[0].at("prompt").as_string(), "line one\nline two");
  EXPECT_THAT(result.out + result.err, Not(HasSubstr(kSecret)));
}

TEST_F(LogsTest, ALogThatIsNotAFileLosesNoReply) {
  std::filesystem::create_directories(db());  // cannot be opened as a database
  const CliResult result = cli_.run({"prompt", "-m", "echo", "still answered"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "still answered\n");
  EXPECT_THAT(result.err, HasSubstr("llmrt: error: the reply was not logged: cannot open the log"));
}

TEST_F(LogsTest, AnUnreadableLogLosesNoReply) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a file whatever its mode";
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "first"}).exit_code, 0);
  ::chmod(db().c_str(), 0);
  const CliResult result = cli_.run({"prompt", "-m", "echo", "still answered"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "still answered\n");
  EXPECT_THAT(result.err, HasSubstr("the reply was not logged"));
}

TEST_F(LogsTest, ACorruptLogLosesNoReplyAndIsLeftAsItWas) {
  std::filesystem::create_directories(cli_.user_dir());
  const std::string garbage(8192, 'x');
  std::ofstream(db(), std::ios::binary) << garbage;
  const CliResult result = cli_.run({"prompt", "-m", "echo", "still answered"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "still answered\n");
  EXPECT_THAT(result.err, HasSubstr("the reply was not logged"));
  EXPECT_THAT(result.err, HasSubstr("not a database"));
  EXPECT_EQ(file_bytes(db()), garbage);
  const CliResult shown = cli_.run({"logs"});
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_THAT(shown.err, HasSubstr("not a database"));
}

// Holds the log's write lock from this process, as another llmrt process writing would.
class WriteLock {
 public:
  explicit WriteLock(const std::filesystem::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
  }
  ~WriteLock() { release(); }
  void release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST_F(LogsTest, ALogLockedLongerThanTheBusyTimeoutLosesNoReply) {
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "first"}).exit_code, 0);
  WriteLock lock(db());  // held until the prompt has given up (5 s busy timeout; 10 s at most)
  const CliResult result = cli_.run({"prompt", "-m", "echo", "still answered"});
  lock.release();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "still answered\n");
  EXPECT_THAT(result.err, HasSubstr("the reply was not logged"));
  EXPECT_THAT(result.err, HasSubstr("locked"));
  EXPECT_EQ(logs_json(cli_).size(), 1u);
}

TEST_F(LogsTest, ALockReleasedWithinTheBusyTimeoutIsWaitedFor) {
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "first"}).exit_code, 0);
  auto lock = std::make_unique<WriteLock>(db());
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    lock->release();
  });
  const CliResult result = cli_.run({"prompt", "-m", "echo", "second"});
  releaser.join();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(logs_json(cli_).size(), 2u);
}

TEST_F(LogsTest, AFullDiskLosesNoReply) {
  ASSERT_EQ(cli_.run({"prompt", "-m", "echo", "first"}).exit_code, 0);
  // No file may grow by a byte (RLIMIT_FSIZE = 0; SIGXFSZ ignored, so writes fail with EFBIG as
  // on a full disk). Standard output is a pipe, which the limit does not cover.
  cli_.set_prefix({"/bin/sh", "-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\""});
  const CliResult result = cli_.run({"prompt", "-m", "echo", "still answered"});
  cli_.set_prefix({});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "still answered\n");
  EXPECT_THAT(result.err, HasSubstr("the reply was not logged"));
  EXPECT_EQ(logs_json(cli_).size(), 1u);
}

TEST_F(LogsTest, EightProcessesLoggingFiftyPromptsEachAtOnceLoseNone) {
  constexpr int kProcesses = 8;
  constexpr int kPrompts = 50;
  std::vector<std::thread> runners;
  std::vector<int> failures(kProcesses, 0);
  std::vector<std::string> first_failure(kProcesses);
  for (int p = 0; p < kProcesses; ++p) {
    runners.emplace_back([&, p] {
      for (int i = 0; i < kPrompts; ++i) {
        const CliResult result =
            cli_.run({"prompt", "-m", "echo", "p" + std::to_string(p) + "-" + std::to_string(i)});
        if (result.exit_code != 0 || !result.err.empty()) {
          if (failures[p]++ == 0) first_failure[p] = describe(result);
        }
      }
    });
  }
  for (auto& runner : runners) runner.join();
  for (int p = 0; p < kProcesses; ++p) {
    EXPECT_EQ(failures[p], 0) << "process " << p << ", first failure: " << first_failure[p];
  }
  const boost::json::array rows = logs_json(cli_);
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kProcesses * kPrompts));
  std::set<std::string> prompts;
  for (const auto& row : rows) prompts.insert(std::string(row.at("prompt").as_string()));
  EXPECT_EQ(prompts.size(), static_cast<std::size_t>(kProcesses * kPrompts));
}

}  // namespace
}  // namespace llmrt::test
