// The keys file under concurrent writers and against files llmrt must not trust: updates locked
// across processes (no entry is ever lost), OpenSSH-style refusal of a user directory or keys file
// that others could change, a size limit, and odd file types that must never block a reader.
// Tests run as root here, so "another user" is uid 65534 (nobody), given with chown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <llmrt/llmrt.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;  // NOLINT: POSIX

namespace llmrt {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "sk-SAFETY-SECRET-0123456789";
constexpr uid_t kOtherUser = 65534;

// Under a sanitizer every `llmrt` process starts several times slower: fewer rounds there (the
// race is the same), the full 100 in the plain build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kRaceRounds = 10;
#else
constexpr int kRaceRounds = 100;
#endif

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

void write_file(const fs::path& path, std::string_view contents, mode_t mode = 0600) {
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(file) << path;
    file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string valid_keys_json() {
  return "{\"echo\": \"" + std::string(kSecret) + "\"}\n";
}

// The message of the Error(keys_file) that every KeysFile operation throws for `path`.
std::vector<std::string> refusals(const fs::path& path) {
  const KeysFile keys(path);
  const std::vector<std::function<void()>> operations = {
      [&] { (void)keys.get("echo"); }, [&] { (void)keys.names(); },
      [&] { keys.set("other", Key("sk-new-value")); }, [&] { (void)keys.remove("echo"); }};
  std::vector<std::string> messages;
  for (const auto& operation : operations) {
    try {
      operation();
      ADD_FAILURE() << "an operation on " << path << " was not refused";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::keys_file) << error.what();
      EXPECT_FALSE(contains(error.what(), kSecret)) << error.what();
      messages.emplace_back(error.what());
    }
  }
  return messages;
}

void expect_refused(const fs::path& path, const std::vector<std::string>& parts) {
  for (const std::string& message : refusals(path)) {
    for (const std::string& part : parts) EXPECT_TRUE(contains(message, part)) << message;
  }
}

class KeysFileSafety : public ::testing::Test {
 protected:
  test::TempDir temp_;
  fs::path dir_ = temp_.path() / "user";
  fs::path path_ = dir_ / "keys.json";
  void SetUp() override {
    fs::create_directory(dir_);
    ::chmod(dir_.c_str(), 0700);
  }
};

// ---- Concurrent writers
// --------------------------------------------------------------------------

// Runs `llmrt keys set NAME` with the key on stdin and LLMRT_USER_PATH=dir. Returns its pid.
pid_t start_keys_set(const fs::path& dir, const std::string& name, const fs::path& key_file) {
  std::vector<std::string> env_text = {"LLMRT_USER_PATH=" + dir.string(), "PATH=/usr/bin:/bin"};
  std::vector<char*> envp;
  for (std::string& entry : env_text) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::string cli = LLMRT_CLI_PATH;
  std::string keys = "keys";
  std::string set = "set";
  std::string key_name = name;
  char* argv[] = {cli.data(), keys.data(), set.data(), key_name.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, key_file.c_str(), O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  return pid;
}

// 20 processes store 20 different names at once, 100 times over: before the lock, most rounds
// lost entries (the last rename won) while every process exited 0.
TEST_F(KeysFileSafety, TwentyConcurrentKeysSetProcessesNeverLoseAnEntry) {
  const fs::path key_file = temp_.path() / "key.txt";
  write_file(key_file, std::string(kSecret) + "\n");
  constexpr int kRounds = kRaceRounds;
  constexpr int kWriters = 20;
  int lost = 0;
  for (int round = 0; round < kRounds; ++round) {
    const fs::path dir = temp_.path() / ("round" + std::to_string(round));
    std::vector<pid_t> pids;
    for (int i = 0; i < kWriters; ++i) {
      pids.push_back(start_keys_set(dir, "name_" + std::to_string(i), key_file));
    }
    for (const pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
    }
    const std::vector<std::string> names = KeysFile(dir / "keys.json").names();
    lost += kWriters - static_cast<int>(names.size());
    fs::remove_all(dir);
  }
  EXPECT_EQ(lost, 0) << "entries lost over " << kRounds << " rounds of " << kWriters << " writers";
}

TEST_F(KeysFileSafety, ConcurrentThreadsSettingAndRemovingKeepEveryOtherEntry) {
  const KeysFile keys(path_);
  keys.set("stays", Key(kSecret));
  std::vector<std::thread> writers;
  for (int i = 0; i < 16; ++i) {
    writers.emplace_back([&keys, i] {
      const std::string name = "t" + std::to_string(i);
      for (int j = 0; j < 10; ++j) keys.set(name, Key("sk-" + std::to_string(j)));
      if (i % 2 == 0) keys.remove(name);
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(keys.names().size(), 9u);  // "stays" and the 8 odd writers
  EXPECT_EQ(keys.get("stays")->reveal(), kSecret);
}

// ---- The user directory ------------------------------------------------------------------------

TEST_F(KeysFileSafety, WorldWritableUserDirectoryIsRefusedWithTheFix) {
  write_file(path_, valid_keys_json());
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  expect_refused(path_, {"bad permissions 0777", dir_.string(), "chmod 700"});
}

TEST_F(KeysFileSafety, GroupWritableUserDirectoryIsRefused) {
  write_file(path_, valid_keys_json());
  ASSERT_EQ(::chmod(dir_.c_str(), 0770), 0);
  expect_refused(path_, {"bad permissions 0770", "chmod 700"});
}

TEST_F(KeysFileSafety, SymlinkedUserDirectoryIsRefused) {
  write_file(path_, valid_keys_json());
  const fs::path link = temp_.path() / "link";
  fs::create_directory_symlink(dir_, link);
  expect_refused(link / "keys.json", {"symbolic link", link.string()});
}

TEST_F(KeysFileSafety, UserDirectoryOwnedByAnotherUserIsRefused) {
  write_file(path_, valid_keys_json());
  ASSERT_EQ(::chown(dir_.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
  expect_refused(path_, {"owned by uid 65534", "chown"});
}

// ---- The keys file itself ----------------------------------------------------------------------

TEST_F(KeysFileSafety, KeysFileOwnedByAnotherUserIsRefusedAndLeftUnchanged) {
  write_file(path_, valid_keys_json());
  ASSERT_EQ(::chown(path_.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
  expect_refused(path_, {"owned by uid 65534", "not by uid " + std::to_string(::geteuid()),
                         "chown " + std::to_string(::geteuid())});
  struct stat status {};
  ASSERT_EQ(::stat(path_.c_str(), &status), 0);
  EXPECT_EQ(status.st_uid, kOtherUser);
}

TEST_F(KeysFileSafety, FileOverTheSizeLimitIsRefusedUnreadAndNotQuoted) {
  // A valid JSON object with the secret, padded past 1 MiB.
  std::string text = "{\"echo\": \"" + std::string(kSecret) + "\", \"pad\": \"";
  text.append(kMaxKeysFileSize, 'x');
  text += "\"}";
  write_file(path_, text);
  expect_refused(path_, {"larger than the limit of 1048576 bytes", "not read"});
  for (const std::string& message : refusals(path_)) EXPECT_FALSE(contains(message, "xxxx"));
}

TEST_F(KeysFileSafety, RemoveThroughADanglingSymbolicLinkIsRefusedNotANoOp) {
  fs::create_symlink(dir_ / "nowhere.json", path_);
  try {
    (void)KeysFile(path_).remove("echo");
    ADD_FAILURE() << "remove through a dangling link said 'not there'";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), "symbolic link")) << error.what();
  }
}

TEST_F(KeysFileSafety, AFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  // Before O_NONBLOCK the open waited for a writer forever; a hang here times the test out.
  expect_refused(path_, {"is a FIFO, not a regular file"});
}

}  // namespace
}  // namespace llmrt
