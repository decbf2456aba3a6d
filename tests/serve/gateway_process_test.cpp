// `llmrt serve` as a user runs it: the real binary in a clean environment, spoken to over HTTP,
// stopped with SIGTERM while a streamed call is in flight.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"

extern char** environ;

namespace llmrt::test::serve_test {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kCliPath = LLMRT_CLI_PATH;

// A child process whose stderr is collected as it comes. Killed (SIGKILL) if still running when
// destroyed.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args, const std::vector<std::string>& environment) {
    std::vector<std::string> argv_strings{kCliPath.string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = environment;
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const int dev_null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, dev_null, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, dev_null, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(err_pipe[1]);
    ::close(dev_null);
    if (spawned != 0) {
      ::close(err_pipe[0]);
      throw std::runtime_error("cannot start " + kCliPath.string() + ": " + std::strerror(spawned));
    }
    reader_ = std::thread([this, fd = err_pipe[0]] {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
          closed_ = true;
          changed_.notify_all();
          break;
        }
        err_.append(buffer, static_cast<std::size_t>(n));
        changed_.notify_all();
      }
      ::close(fd);
    });
  }

  ~ChildProcess() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(10s);
    }
    reader_.join();
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The groups of the first match of `pattern` in stderr ([0] is the whole match), waiting for it
  // up to `timeout`.
  std::optional<std::vector<std::string>> wait_for_stderr(const std::regex& pattern,
                                                          std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::smatch match;
    const bool found = changed_.wait_for(
        lock, timeout, [&] { return std::regex_search(err_, match, pattern) || closed_; });
    if (!found || match.empty()) return std::nullopt;
    return std::vector<std::string>(match.begin(), match.end());
  }

  std::string stderr_text() {
    std::lock_guard lock(mutex_);
    return err_;
  }

  void signal(int number) const { ::kill(pid_, number); }

  // The exit status (128 + N if killed by signal N), or nullopt if it still runs after `timeout`.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (done < 0 && errno != EINTR) {
        exit_code_ = -1;
      } else if (std::chrono::steady_clock::now() >= deadline) {
        return std::nullopt;
      } else {
        std::this_thread::sleep_for(10ms);
      }
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string err_;
  bool closed_ = false;
};

// PATH, HOME and LLMRT_USER_PATH in `temp`, the sanitizer settings of this run, and `extra`.
std::vector<std::string> clean_environment(const std::filesystem::path& temp,
                                           const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  if (const char* path = std::getenv("PATH")) env["PATH"] = path;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, equals);
    if (name.starts_with("ASAN_") || name.starts_with("UBSAN_") || name.starts_with("LSAN_") ||
        name.starts_with("TSAN_")) {
      env[std::string(name)] = std::string(text.substr(equals + 1));
    }
  }
  std::filesystem::create_directories(temp / "home");
  env["HOME"] = (temp / "home").string();
  env["LLMRT_USER_PATH"] = (temp / "user").string();
  for (const auto& [name, value] : extra) env[name] = value;
  std::vector<std::string> entries;
  for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
  return entries;
}

TEST(GatewayBinary, SigtermLetsTheStreamInFlightFinishThenExitsZero) {
  const auto timeout = kThreadSanitizer ? 30s : 10s;
  TempDir temp;
  const std::filesystem::path events = temp.path() / "slow-events.txt";
  ChildProcess server(
      {"serve", "--port", "0"},
      clean_environment(temp.path(), {{"LLMRT_PLUGIN_PATH", kServePluginDir.string()},
                                      {"LLMRT_SLOW_EVENTS", events.string()}}));
  const auto listening = server.wait_for_stderr(
      std::regex(R"(serving (\d+) models on http://127\.0\.0\.1:(\d+))"), timeout);
  ASSERT_TRUE(listening) << "no 'serving' line; stderr:\n" << server.stderr_text();
  EXPECT_GE(std::stoi((*listening)[1]), 3) << "echo, legacy-echo and slow at least";
  const int port = std::stoi((*listening)[2]);

  auto client_for = [&] {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_connection_timeout(5s);
    client->set_read_timeout(timeout);
    client->set_tcp_nodelay(true);
    return client;
  };

  // A request answered as usual.
  const std::string echo_key = "sk-binary-echo-" + random_hex(12);
  {
    auto client = client_for();
    const Reply reply =
        post_chat(*client, chat_body("echo", "hello binary", false), bearer(echo_key));
    ASSERT_EQ(reply.status, 200) << reply;
    EXPECT_EQ(completion_content(reply.body), echo_reply("hello binary", echo_key));
  }

  // A slow stream (12 words, ~1.2 s), and SIGTERM once its first chunk has arrived.
  const std::string slow_key = "sk-binary-slow-" + random_hex(12);
  const std::string prompt = "inflight one two three four five six seven eight nine ten eleven";
  std::atomic<bool> streaming{false};
  std::atomic<std::int64_t> last_data_at{0};  // steady_clock ticks
  Reply slow_reply;
  std::thread stream([&] {
    auto client = client_for();
    slow_reply = post_chat_streaming(
        *client, chat_body("slow", prompt, true), bearer(slow_key), [&](const std::string&) {
          streaming = true;
          last_data_at = std::chrono::steady_clock::now().time_since_epoch().count();
          return true;
        });
  });
  const bool in_flight = eventually([&] { return streaming.load(); }, timeout);
  EXPECT_TRUE(in_flight) << "the slow stream never started; stderr:\n" << server.stderr_text();
  const std::int64_t signalled_at = std::chrono::steady_clock::now().time_since_epoch().count();
  server.signal(SIGTERM);
  stream.join();
  EXPECT_GT(last_data_at.load(), signalled_at) << "the stream had ended before SIGTERM";

  EXPECT_EQ(slow_reply.status, 200) << slow_reply;
  EXPECT_TRUE(slow_reply.transport_error.empty()) << slow_reply.transport_error;
  const SseStream sse = parse_sse(slow_reply.body);
  EXPECT_TRUE(sse.ends_with_done) << "the stream in flight was cut:\n" << slow_reply.body;
  EXPECT_EQ(sse.content, prompt);
  EXPECT_NE(read_file(events).find("finished inflight"), std::string::npos) << read_file(events);

  const std::optional<int> exit_code = server.wait_for_exit(timeout);
  ASSERT_TRUE(exit_code) << "still running after SIGTERM; stderr:\n" << server.stderr_text();
  EXPECT_EQ(*exit_code, 0) << server.stderr_text();

  const std::string err = server.stderr_text();
  EXPECT_NE(err.find("POST /v1/chat/completions model=echo status=200"), std::string::npos) << err;
  EXPECT_NE(err.find("key=sha256:" + sha256_prefix(echo_key)), std::string::npos) << err;
  EXPECT_NE(err.find("POST /v1/chat/completions model=slow status=200"), std::string::npos) << err;
  EXPECT_NE(err.find("key=sha256:" + sha256_prefix(slow_key)), std::string::npos) << err;
  EXPECT_EQ(err.find(echo_key.substr(15)), std::string::npos) << "a key on stderr:\n" << err;
  EXPECT_EQ(err.find(slow_key.substr(15)), std::string::npos) << "a key on stderr:\n" << err;

  // Gone: nothing listens on the port any more.
  auto client = client_for();
  client->set_connection_timeout(1s);
  EXPECT_FALSE(client->Get("/healthz"));
}

// A plugin call that never returns (and never looks at its stop): its client still gets 504 at
// --request-timeout, and SIGTERM still ends the process once --shutdown-grace has passed.
TEST(GatewayBinary, SigtermExitsAfterTheShutdownGraceEvenIfAPluginNeverReturns) {
  const auto timeout = kThreadSanitizer ? 30s : 10s;
  TempDir temp;
  const std::filesystem::path events = temp.path() / "events.txt";
  ChildProcess server(
      {"serve", "--port", "0", "--request-timeout", "0.5", "--shutdown-grace", "1"},
      clean_environment(temp.path(), {{"LLMRT_PLUGIN_PATH", kServePluginDir.string()},
                                      {"LLMRT_SLOW_EVENTS", events.string()}}));
  const auto listening = server.wait_for_stderr(
      std::regex(R"(serving (\d+) models on http://127\.0\.0\.1:(\d+))"), timeout);
  ASSERT_TRUE(listening) << "no 'serving' line; stderr:\n" << server.stderr_text();
  const int port = std::stoi((*listening)[2]);
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(timeout);
  const Reply reply = post_chat(client, chat_body("flood", "hang", false));
  EXPECT_EQ(reply.status, 504) << reply;
  EXPECT_NE(read_file(events).find("started flood-hang"), std::string::npos);

  server.signal(SIGTERM);
  const std::optional<int> exit_code = server.wait_for_exit(timeout);
  ASSERT_TRUE(exit_code) << "still running after SIGTERM; stderr:\n" << server.stderr_text();
  EXPECT_EQ(*exit_code, 1) << server.stderr_text();
  EXPECT_NE(server.stderr_text().find("still running after --shutdown-grace"), std::string::npos)
      << server.stderr_text();
  EXPECT_NE(server.stderr_text().find("model=flood status=504"), std::string::npos);
}

}  // namespace
}  // namespace llmrt::test::serve_test
