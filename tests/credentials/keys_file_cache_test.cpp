// The runtime's keys file is parsed once and kept while it is unchanged (issue 13, item 3;
// docs/keys.md#how-a-change-is-noticed). These tests keep its promises:
//  - an unchanged file is read once, however many calls use it, and a call makes no system call
//    for it (counted by the runtime, and by strace where it is installed);
//  - every kind of change is used by the next call: `llmrt keys set` in another process, an
//    editor's rename over the file or write in place, a deletion, a re-creation, KeysFile writes
//    in this process (with no catch_up() at all), and the safety rules apply to what is kept
//    (chmod 0644, another owner, a directory opened to others: refused by the next call);
//  - 16 threads calling while another process rotates the key 100 times only ever get a whole
//    key, the old or the new one;
//  - the parsed contents sit in locked memory while they are kept, and are let go with the runtime.
// Each promise is checked with inotify and with the stat() fallback. Every message and every
// output of a child process is searched for every key (credentials_test_support.cpp).
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "credentials_test_support.hpp"
#include "keys_cache/keys_cache_counters.hpp"
#include "run_cli.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChildDirVariable = "LLMRT_KEYS_CACHE_TEST_CHILD_DIR";

std::string fingerprint_of(const std::string& key) {
  return "sha256:" + sha256_prefix(key);
}

std::string keys_json(const std::string& key) {
  return "{\"cred-check\": \"" + key + "\"}\n";
}

RuntimeConfig config_for(const std::filesystem::path& user_dir, const test::FakeEnvironment& env,
                         const KeysFileCaching& caching) {
  RuntimeConfig config = test::isolated_config(user_dir, env);
  config.plugin_paths = {test::kCredentialsPluginDir / "credentials_check.so",
                         test::kBundledPluginDir / "echo.so"};
  config.keys_file_caching = caching;
  return config;
}

// How the runtime notices changes in each run of the suite.
enum class Watch { inotify, stat_fallback };

std::string watch_name(const ::testing::TestParamInfo<Watch>& info) {
  return info.param == Watch::inotify ? "Inotify" : "StatFallback";
}

class KeysFileCache : public ::testing::TestWithParam<Watch> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(cli_.user_dir());
    ::chmod(cli_.user_dir().c_str(), 0700);
    KeysFileCaching caching;
    caching.use_inotify = GetParam() == Watch::inotify;
    // So long that only catch_up() (or a write by this process) makes the fallback look again:
    // what a test sees after a change is never a check that happened to be due.
    caching.check_interval = 1h;
    runtime_.emplace(config_for(cli_.user_dir(), env_, caching));
    if (GetParam() == Watch::inotify && !runtime_->keys_file().watched_by_inotify()) {
      GTEST_SKIP() << "inotify cannot watch " << cli_.user_dir() << " here";
    }
  }

  std::filesystem::path keys_path() const { return cli_.keys_file(); }

  // `llmrt keys set cred-check` in another process.
  void set_from_another_process(const std::string& key) {
    const test::CliResult result = cli_.run({"keys", "set", "cred-check"}, key + "\n");
    test::MessageLog::instance().add_message(result.out);
    test::MessageLog::instance().add_message(result.err);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  // An editor's save: a new file beside it, renamed over it.
  void save_like_an_editor(const std::string& text) {
    const std::filesystem::path temp = cli_.user_dir() / ".keys.json.swp";
    test::write_file(temp, text, 0600);
    std::filesystem::rename(temp, keys_path());
  }

  // The fingerprint of the key the next call of cred-check sends.
  std::string next_call_key() {
    const Response response = runtime_->get_model("cred-check").prompt("hi");
    EXPECT_EQ(response.key_source, KeySource::keys_file);
    return response.key_fingerprint;
  }

  // A change by another process has landed: make sure the watch has taken it in.
  void catch_up() { runtime_->keys_file().catch_up(); }

  test::CliRunner cli_;
  test::FakeEnvironment env_;
  std::optional<Runtime> runtime_;
};

TEST_P(KeysFileCache, AThousandCallsReadAnUnchangedFileOnce) {
  const std::string key = test::secret("sk-cache-once-0001");
  test::write_file(keys_path(), keys_json(key));
  catch_up();  // the events of that write are in: from here on the file is unchanged
  const Model model = runtime_->get_model("cred-check");
  const KeysCacheCounters& counters = keys_cache_counters();
  const std::uint64_t reads = counters.file_reads.load();
  const std::uint64_t parses = counters.parses.load();
  const std::uint64_t stats = counters.stat_checks.load();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(model.prompt("hi").key_fingerprint, fingerprint_of(key));
  }
  EXPECT_EQ(counters.file_reads.load() - reads, 1u);
  EXPECT_EQ(counters.parses.load() - parses, 1u);
  EXPECT_LE(counters.stat_checks.load() - stats, 1u);
}

TEST_P(KeysFileCache, AThousandCallsWithoutAnyKeyLookForTheMissingFileOnce) {
  const Model model = runtime_->get_model("echo");
  const KeysCacheCounters& counters = keys_cache_counters();
  const std::uint64_t reads = counters.file_reads.load();
  const std::uint64_t stats = counters.stat_checks.load();
  for (int i = 0; i < 1000; ++i) {
    const Response response = model.prompt("hi");
    ASSERT_EQ(response.key_source, KeySource::none);
  }
  EXPECT_EQ(counters.file_reads.load() - reads, 1u);
  EXPECT_LE(counters.stat_checks.load() - stats, 1u);
}

TEST_P(KeysFileCache, KeysSetByAnotherProcessIsUsedByTheNextCall) {
  const std::string old_key = test::secret("sk-cache-cli-old-0001");
  const std::string new_key = test::secret("sk-cache-cli-new-0002");
  set_from_another_process(old_key);
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(old_key));
  set_from_another_process(new_key);
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(new_key));
}

TEST_P(KeysFileCache, AnEditorsRenameOverTheFileIsUsedByTheNextCall) {
  const std::string old_key = test::secret("sk-cache-editor-old-0001");
  const std::string new_key = test::secret("sk-cache-editor-new-0002");
  save_like_an_editor(keys_json(old_key));
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(old_key));
  save_like_an_editor(keys_json(new_key));
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(new_key));
}

TEST_P(KeysFileCache, AWriteInPlaceIsUsedByTheNextCall) {
  const std::string old_key = test::secret("sk-cache-inplace-old-0001");
  const std::string new_key = test::secret("sk-cache-inplace-new-0002");
  test::write_file(keys_path(), keys_json(old_key));
  EXPECT_EQ(next_call_key(), fingerprint_of(old_key));
  test::write_file(keys_path(), keys_json(new_key));  // truncate and write, same inode
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(new_key));
}

TEST_P(KeysFileCache, ADeletedFileIsNoLongerUsedAndARecreatedOneIs) {
  const std::string old_key = test::secret("sk-cache-deleted-old-0001");
  const std::string new_key = test::secret("sk-cache-deleted-new-0002");
  test::write_file(keys_path(), keys_json(old_key));
  EXPECT_EQ(next_call_key(), fingerprint_of(old_key));
  std::filesystem::remove(keys_path());
  catch_up();
  const Error missing = test::expect_error([&] { runtime_->get_model("cred-check").prompt("hi"); });
  EXPECT_EQ(missing.code(), ErrorCode::key_missing) << missing.what();
  test::write_file(keys_path(), keys_json(new_key));
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(new_key));
}

TEST_P(KeysFileCache, AFileOpenedToOthersIsRefusedByTheNextCallAndUsedAgainOnceFixed) {
  const std::string key = test::secret("sk-cache-chmod-0001");
  test::write_file(keys_path(), keys_json(key));
  EXPECT_EQ(next_call_key(), fingerprint_of(key));
  ::chmod(keys_path().c_str(), 0644);
  catch_up();
  const Error refused = test::expect_error([&] { runtime_->get_model("cred-check").prompt("hi"); });
  EXPECT_EQ(refused.code(), ErrorCode::keys_file);
  EXPECT_TRUE(test::contains(refused.what(), "permissions 0644")) << refused.what();
  // Refused again, not served from what was kept before.
  EXPECT_EQ(test::expect_error([&] { runtime_->get_model("cred-check").prompt("hi"); }).code(),
            ErrorCode::keys_file);
  ::chmod(keys_path().c_str(), 0600);
  catch_up();
  EXPECT_EQ(next_call_key(), fingerprint_of(key));
}

TEST_P(KeysFileCache, AFileGivenToAnotherUserIsRefusedByTheNextCall) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file away";
  const std::string key = test::secret("sk-cache-chown-0001");
  test::write_file(keys_path(), keys_json(key));
  EXPECT_EQ(next_call_key(), fingerprint_of(key));
  ASSERT_EQ(::chown(keys_path().c_str(), 65534, 65534), 0);  // nobody
  catch_up();
  const Error refused = test::expect_error([&] { runtime_->get_model("cred-check").prompt("hi"); });
  EXPECT_EQ(refused.code(), ErrorCode::keys_file);
  EXPECT_TRUE(test::contains(refused.what(), "owned by uid 65534")) << refused.what();
}

TEST_P(KeysFileCache, ADirectoryOpenedToOthersIsRefusedByTheNextCall) {
  const std::string key = test::secret("sk-cache-dirmode-0001");
  test::write_file(keys_path(), keys_json(key));
  EXPECT_EQ(next_call_key(), fingerprint_of(key));
  ::chmod(cli_.user_dir().c_str(), 0770);
  catch_up();
  const Error refused = test::expect_error([&] { runtime_->get_model("cred-check").prompt("hi"); });
  EXPECT_EQ(refused.code(), ErrorCode::keys_file);
  EXPECT_TRUE(test::contains(refused.what(), "bad permissions 0770")) << refused.what();
  ::chmod(cli_.user_dir().c_str(), 0700);
}

TEST_P(KeysFileCache, WritesByThisProcessAreUsedByTheNextCallWithoutCatchingUp) {
  const std::string first = test::secret("sk-cache-inproc-0001");
  const std::string second = test::secret("sk-cache-inproc-0002");
  const std::string third = test::secret("sk-cache-inproc-0003");
  runtime_->keys_file().set("cred-check", Key(first));
  EXPECT_EQ(next_call_key(), fingerprint_of(first));
  // Another KeysFile of the same file, without a cache of its own (eg: a host's admin screen).
  KeysFile(keys_path()).set("cred-check", Key(second));
  EXPECT_EQ(next_call_key(), fingerprint_of(second));
  runtime_->keys_file().set_version("cred-check", "pending", Key(third), 0);
  runtime_->keys_file().promote("cred-check", "pending");
  EXPECT_EQ(next_call_key(), fingerprint_of(third));
  const std::vector<StoredKeyVersion> versions = runtime_->keys_file().versions("cred-check");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].label, "previous");
  EXPECT_EQ(versions[1].label, "current");
}

TEST_P(KeysFileCache, ParsedContentsAreLockedInMemoryUntilTheRuntimeGoes) {
  const auto locked_kib = [] {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmLck:")) return std::stol(line.substr(6));
    }
    return -1L;
  };
  // Whether mlock() locks anything here: RLIMIT_MEMLOCK may be 0 for non-root users, and the
  // sanitizers make mlock() a no-op that succeeds.
  void* probe = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const long unlocked = locked_kib();
  const bool can_lock = ::mlock(probe, 4096) == 0 && locked_kib() > unlocked;
  ::munmap(probe, 4096);
  if (!can_lock) GTEST_SKIP() << "mlock() locks nothing here: the contents are only wiped";
  const long before = locked_kib();
  const std::string key = test::secret("sk-cache-locked-0001");
  test::write_file(keys_path(), keys_json(key));
  EXPECT_EQ(next_call_key(), fingerprint_of(key));
  EXPECT_GT(locked_kib(), before);
  runtime_.reset();  // the cache goes with it: its pages are wiped, unlocked and unmapped
  EXPECT_EQ(locked_kib(), before);
}

INSTANTIATE_TEST_SUITE_P(Watches, KeysFileCache,
                         ::testing::Values(Watch::inotify, Watch::stat_fallback), watch_name);

// Without catch_up(): inotify alone tells the runtime, soon after the change, with no call to help.
TEST(KeysFileCacheWatch, InotifyAloneNoticesAChangeByAnotherProcess) {
  test::CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  ::chmod(cli.user_dir().c_str(), 0700);
  test::FakeEnvironment env;
  const Runtime runtime(config_for(cli.user_dir(), env, KeysFileCaching{}));
  if (!runtime.keys_file().watched_by_inotify()) GTEST_SKIP() << "no inotify here";
  const std::string old_key = test::secret("sk-cache-alone-old-0001");
  const std::string new_key = test::secret("sk-cache-alone-new-0002");
  test::write_file(cli.keys_file(), keys_json(old_key));
  const Model model = runtime.get_model("cred-check");
  while (model.prompt("hi").key_fingerprint != fingerprint_of(old_key)) {
    std::this_thread::sleep_for(1ms);
  }
  const test::CliResult result = cli.run({"keys", "set", "cred-check"}, new_key + "\n");
  test::MessageLog::instance().add_message(result.out + result.err);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Not a timing assertion: the bound only keeps a broken watch from hanging the suite.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  std::string seen;
  while ((seen = model.prompt("hi").key_fingerprint) != fingerprint_of(new_key) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(seen, fingerprint_of(new_key));
}

// The stat() fallback with an interval of 0 looks at every call: strict, and a way to run where
// inotify is missing.
TEST(KeysFileCacheWatch, StatFallbackWithoutIntervalSeesAChangeAtTheNextCall) {
  test::CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  ::chmod(cli.user_dir().c_str(), 0700);
  test::FakeEnvironment env;
  KeysFileCaching caching;
  caching.use_inotify = false;
  caching.check_interval = 0ms;
  const Runtime runtime(config_for(cli.user_dir(), env, caching));
  EXPECT_FALSE(runtime.keys_file().watched_by_inotify());
  const Model model = runtime.get_model("cred-check");
  for (int i = 0; i < 5; ++i) {
    const std::string key = test::secret("sk-cache-stat0-000" + std::to_string(i));
    const std::filesystem::path temp = cli.user_dir() / "new.json";
    test::write_file(temp, keys_json(key));
    std::filesystem::rename(temp, cli.keys_file());
    EXPECT_EQ(model.prompt("hi").key_fingerprint, fingerprint_of(key)) << "change " << i;
  }
}

// A user directory that does not exist yet (a new user) is watched once it does.
TEST(KeysFileCacheWatch, ADirectoryCreatedLaterIsWatchedFromThen) {
  test::CliRunner cli;  // its user directory does not exist
  test::FakeEnvironment env;
  KeysFileCaching caching;
  caching.check_interval = 0ms;
  const Runtime runtime(config_for(cli.user_dir(), env, caching));
  EXPECT_FALSE(runtime.keys_file().watched_by_inotify());
  const Model model = runtime.get_model("cred-check");
  EXPECT_EQ(test::expect_error([&] { model.prompt("hi"); }).code(), ErrorCode::key_missing);
  const std::string key = test::secret("sk-cache-newdir-0001");
  const test::CliResult result = cli.run({"keys", "set", "cred-check"}, key + "\n");
  test::MessageLog::instance().add_message(result.out + result.err);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(model.prompt("hi").key_fingerprint, fingerprint_of(key));
  // Whether the kernel lets it watch is the system's business; where it does, it now watches.
  int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    EXPECT_TRUE(runtime.keys_file().watched_by_inotify());
  }
}

// 16 threads call while another process rotates the key 100 times: each call sends one whole key,
// one of those stored, the same at its start and end; after the last rotation, only the last key.
TEST(KeysFileCacheWatch, SixteenThreadsCallingWhileAnotherProcessRotatesTheKey) {
  test::CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  ::chmod(cli.user_dir().c_str(), 0700);
  test::FakeEnvironment env;
  const Runtime runtime(config_for(cli.user_dir(), env, KeysFileCaching{}));
  constexpr int kRotations = 100;
  constexpr int kThreads = 16;
  std::vector<std::string> keys;
  std::set<std::string> fingerprints;
  for (int i = 0; i <= kRotations; ++i) {
    keys.push_back(test::secret("sk-cache-rotate-" + std::to_string(10000 + i)));
    fingerprints.insert(fingerprint_of(keys.back()));
  }
  test::write_file(cli.keys_file(), keys_json(keys[0]));
  const Model model = runtime.get_model("cred-check");

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        try {
          const Response response = model.prompt("hi");
          const std::string& text = response.text;
          const std::string expected_line =
              "key-sha256: " + response.key_fingerprint.substr(7) + "\n";
          if (fingerprints.count(response.key_fingerprint) == 0 ||
              !text.starts_with(expected_line) || !text.ends_with(expected_line)) {
            std::lock_guard lock(failures_mutex);
            failures.push_back("a call sent a key that was never stored whole: " +
                               response.key_fingerprint);
          }
          ++calls;
        } catch (const Error& error) {
          std::lock_guard lock(failures_mutex);
          test::MessageLog::instance().add_message(error.what());
          failures.push_back(std::string("a call failed: ") + error.what());
        }
      }
    });
  }
  for (int r = 1; r <= kRotations; ++r) {
    const test::CliResult result = cli.run({"keys", "set", "cred-check"}, keys[r] + "\n");
    test::MessageLog::instance().add_message(result.out + result.err);
    if (result.exit_code != 0) {
      ADD_FAILURE() << "rotation " << r << ": " << result.err;
      break;
    }
  }
  stop.store(true);
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
  EXPECT_GT(calls.load(), kRotations);
  runtime.keys_file().catch_up();
  EXPECT_EQ(model.prompt("hi").key_fingerprint, fingerprint_of(keys[kRotations]));
}

// What the strace test below runs in a child: 1000 calls that take their key from the file.
TEST(KeysFileCacheChild, AThousandCallsUnderStrace) {
  const char* dir = std::getenv(kChildDirVariable);
  if (dir == nullptr) GTEST_SKIP() << "run by NoSystemCallPerCallForTheKeysFile only";
  test::FakeEnvironment env;
  const Runtime runtime(config_for(dir, env, KeysFileCaching{}));
  const Model model = runtime.get_model("cred-check");
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(model.prompt("hi").key_source, KeySource::keys_file);
}

// strace counts every system call naming the user directory or the keys file while 1000 calls
// take their key from it: a handful (setting up the watch, one read), not one or more per call.
TEST(KeysFileCacheWatch, NoSystemCallPerCallForTheKeysFile) {
  if (::access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "strace is not installed";
  test::CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  ::chmod(cli.user_dir().c_str(), 0700);
  const std::string key = test::secret("sk-cache-strace-0001");
  test::write_file(cli.keys_file(), keys_json(key));
  const std::filesystem::path trace = cli.temp() / "trace.txt";
  const std::filesystem::path output = cli.temp() / "child.txt";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  // LeakSanitizer cannot run under ptrace: an ASan child leaves leak checks to the other tests.
  const std::string command =
      "ASAN_OPTIONS=\"${ASAN_OPTIONS}:detect_leaks=0\" /usr/bin/strace -f -qq -e trace=%file -o '" +
      trace.string() + "' env " + kChildDirVariable + "='" + cli.user_dir().string() + "' '" +
      self + "' --gtest_filter=KeysFileCacheChild.AThousandCallsUnderStrace > '" + output.string() +
      "' 2>&1";
  const int status = std::system(command.c_str());
  const std::string child_output = test::read_file(output);
  test::MessageLog::instance().add_message(child_output);
  const std::string traced = test::read_file(trace);
  test::MessageLog::instance().add_message(traced);
  if (test::contains(child_output, "Operation not permitted")) {
    GTEST_SKIP() << "strace may not trace here: " << child_output;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << child_output;
  ASSERT_TRUE(test::contains(child_output, "[  PASSED  ] 1 test")) << child_output;
  std::istringstream lines(traced);
  std::string line;
  int naming_the_file = 0;
  while (std::getline(lines, line)) {
    if (test::contains(line, cli.user_dir().string())) ++naming_the_file;
  }
  EXPECT_GT(naming_the_file, 0) << "strace saw nothing: is the trace right?";
  EXPECT_LE(naming_the_file, 20) << "system calls for the keys file while 1000 calls used it";
}

}  // namespace
}  // namespace llmrt
