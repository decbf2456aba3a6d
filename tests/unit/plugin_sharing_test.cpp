// One loaded plugin per process: dlopen hands every Runtime (and Runtime::inspect) the same library
// and the same plugin structs, so the runtime binds each library once. The entry point runs once
// per load, a model that is not reentrant is serialized across every Runtime, and plugins that
// break the contract at load (an entry point that throws, a directory that cannot be read) are
// reported by `llmrt plugins` and `llmrt serve`, which keep going.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../cli/run_cli.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

namespace fs = std::filesystem;

const fs::path kCounted = test::kTestPluginDir / "v1_counted.so";
const std::vector<std::string> kThrowingEntries = {
    "bad_entry_throws_std.so", "bad_entry_throws_custom.so", "bad_entry_throws_other.so"};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

class PluginSharing : public ::testing::Test {
 protected:
  RuntimeConfig config_with(const fs::path& plugin) const {
    RuntimeConfig config = test::isolated_config(user_dir_.path(), environment_);
    config.plugin_paths.push_back(plugin);
    return config;
  }

  test::TempDir user_dir_;
  test::FakeEnvironment environment_;
};

// v1_counted answers "entries=N", N being how often its entry point ran. While one Runtime holds
// it, more Runtimes and inspections must not run it again (before: once per Runtime and per
// inspect, "entries=3" below).
TEST_F(PluginSharing, EntryPointRunsOncePerLoadForEveryRuntimeAndInspect) {
  const Runtime first(config_with(kCounted));
  ASSERT_TRUE(first.load_errors().empty()) << first.load_errors().front().message;
  const std::string at_load = first.get_model("v1-counted").prompt("hi").text;
  ASSERT_TRUE(at_load.starts_with("entries=")) << at_load;

  const Runtime second(config_with(kCounted));
  const PluginInspection inspection = Runtime::inspect(kCounted);
  ASSERT_FALSE(inspection.error.has_value()) << inspection.error->message;
  ASSERT_EQ(inspection.models.size(), 1u);
  EXPECT_EQ(second.get_model("v1-counted").prompt("hi").text, at_load);
  EXPECT_EQ(first.get_model("v1-counted").prompt("hi").text, at_load);
}

// A v1 model is "never called concurrently": that holds for the process, not per Runtime. Two
// Runtimes, four threads each, prompt the same v1 model at once; v1_counted fails any call that
// overlaps another (before: each Runtime had its own lock, and calls overlapped).
TEST_F(PluginSharing, V1ModelIsNeverEnteredConcurrentlyFromTwoRuntimes) {
  const Runtime first(config_with(kCounted));
  const Runtime second(config_with(kCounted));
  const std::vector<Model> models = {
      first.get_model("v1-counted"), second.create_model("v1-counted"),
      second.get_model("v1-counted"), first.create_model("v1-counted")};
  ASSERT_FALSE(models[0].info().reentrant);
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Model& model = models[static_cast<std::size_t>(t) % models.size()];
      start.arrive_and_wait();
      for (int i = 0; i < 25; ++i) {
        try {
          if (t % 2 == 0) {
            (void)model.prompt("sync");
          } else {
            (void)model.prompt_async("async").get();
          }
        } catch (const std::exception& error) {
          if (failures.fetch_add(1) == 0) {
            std::lock_guard lock(failure_mutex);
            first_failure = error.what();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << "first failure: " << first_failure;
}

// Models of one plugin handed out by two Runtimes are the same binding: a Model outlives the
// Runtime that made it, and a new Runtime still shares it (the library stays mapped meanwhile).
TEST_F(PluginSharing, ModelFromAGoneRuntimeAndANewOneShareTheLoad) {
  std::optional<Model> kept;
  std::string at_load;
  {
    const Runtime gone(config_with(kCounted));
    kept = gone.get_model("v1-counted");
    at_load = kept->prompt("hi").text;
  }
  const Runtime fresh(config_with(kCounted));
  EXPECT_EQ(fresh.get_model("v1-counted").prompt("hi").text, at_load);
  EXPECT_EQ(kept->prompt("hi").text, at_load);
}

// ---- The command line, with plugins that break the contract at load
// ------------------------------

// The CLI started in the background with its stderr on a pipe (CliRunner waits for the end; serve
// never ends by itself). Under root it can run as nobody, for permission checks.
class BackgroundCli {
 public:
  BackgroundCli(const test::CliRunner& runner, std::vector<std::string> args,
                const std::string& plugin_path, bool as_nobody = false) {
    std::vector<std::string> env = {"LLMRT_PLUGIN_PATH=" + plugin_path,
                                    "LLMRT_USER_PATH=" + runner.user_dir().string(),
                                    "HOME=" + runner.home().string()};
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (text.starts_with("ASAN_") || text.starts_with("UBSAN_") || text.starts_with("TSAN_") ||
          text.starts_with("LSAN_") || text.starts_with("PATH=")) {
        env.emplace_back(text);
      }
    }
    args.insert(args.begin(), test::kCliPath.string());
    std::vector<char*> envp;
    for (std::string& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      if (as_nobody && ::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
        ::_exit(126);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    err_fd_ = fds[0];
  }
  ~BackgroundCli() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  BackgroundCli(const BackgroundCli&) = delete;
  BackgroundCli& operator=(const BackgroundCli&) = delete;

  // Reads stderr until it contains `text`, it closes, or 60 s pass (a bound, not a measurement).
  const std::string& read_until(std::string_view text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    char buffer[4096];
    while (err_fd_ >= 0 && (text.empty() || !contains(err_, text))) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd fd = {err_fd_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::read(err_fd_, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(err_fd_);
        err_fd_ = -1;
      } else {
        err_.append(buffer, static_cast<std::size_t>(n));
      }
    }
    return err_;
  }
  const std::string& err() const { return err_; }

  void signal(int number) const { ::kill(pid_, number); }

  // The exit status as waitpid gives it.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

class PluginsOnTheCommandLine : public ::testing::Test {
 protected:
  // A plugin directory holding the three throwing entry points and nothing else.
  fs::path throwing_dir() const {
    const fs::path dir = cli_.temp() / "throwing-plugins";
    fs::create_directories(dir);
    for (const std::string& file : kThrowingEntries) {
      fs::copy_file(test::kTestPluginDir / file, dir / file, fs::copy_options::overwrite_existing);
    }
    return dir;
  }

  test::CliRunner cli_;
};

// Before: the library was unmapped under the exception and `llmrt plugins` died with SIGSEGV.
TEST_F(PluginsOnTheCommandLine, PluginsListsThrowingEntryPointsAsSkippedAndExitsNormally) {
  cli_.set_env("LLMRT_PLUGIN_PATH", throwing_dir().string());
  const test::CliResult result = cli_.run({"plugins"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  for (const std::string& file : kThrowingEntries) {
    EXPECT_TRUE(contains(result.err, "skipped plugin")) << result.err;
    EXPECT_TRUE(contains(result.err, file)) << result.err;
  }
  EXPECT_TRUE(contains(result.err, "entry point threw")) << result.err;
  EXPECT_TRUE(contains(result.out, "echo")) << result.out;
}

// `llmrt serve` starts, says which plugins it skipped, serves, and stops on SIGTERM.
TEST_F(PluginsOnTheCommandLine, ServeSkipsThrowingEntryPointsAndServes) {
  BackgroundCli serve(cli_, {"serve", "--port", "0", "--quiet"}, throwing_dir().string());
  const std::string& err = serve.read_until("serving");
  serve.signal(SIGTERM);
  serve.read_until("");
  const int status = serve.wait();
  EXPECT_TRUE(WIFEXITED(status)) << "killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << "; " << err;
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << err;
  EXPECT_TRUE(contains(err, "serving")) << err;
  for (const std::string& file : kThrowingEntries) {
    EXPECT_TRUE(contains(err, "skipped plugin")) << err;
    EXPECT_TRUE(contains(err, file)) << err;
  }
}

// A directory of LLMRT_PLUGIN_PATH that cannot be listed is reported, like a missing one (before:
// nothing was loaded from it and nothing said so). Root reads any directory, so under root the
// CLI runs as nobody.
TEST_F(PluginsOnTheCommandLine, UnreadablePluginDirectoryIsReported) {
  const fs::path unreadable = cli_.temp() / "unreadable-plugins";
  fs::create_directories(unreadable);
  fs::copy_file(test::kTestPluginDir / "serial.so", unreadable / "serial.so");
  fs::permissions(unreadable, fs::perms::none);
  // nobody must reach it (and the user directory): the temporary directory is made 0755.
  fs::permissions(cli_.temp(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  BackgroundCli plugins(cli_, {"plugins"}, unreadable.string(), /*as_nobody=*/true);
  const std::string err = plugins.read_until("");
  const int status = plugins.wait();
  fs::permissions(unreadable, fs::perms::owner_all);  // so that TempDir can remove it
  ASSERT_TRUE(WIFEXITED(status)) << err;
  ASSERT_NE(WEXITSTATUS(status), 126) << "could not drop root privileges";
  ASSERT_NE(WEXITSTATUS(status), 127) << "could not run " << test::kCliPath;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_TRUE(contains(err, unreadable.string())) << err;
  EXPECT_TRUE(contains(err, "cannot be read")) << err;
}

}  // namespace
}  // namespace llmrt
