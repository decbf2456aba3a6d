// Plugin isolation end to end: the real `llmrt serve` (process isolation is its default) serving
// the misbehaving plugin and echo, spoken to over HTTP only. While 16 tenants stream through echo
// with their own keys, bad calls crash, hang and flood their workers: each gets its own error
// status (502, 504, 503 with Retry-After once quarantined), every tenant's stream completes with
// its own key's fingerprint, and the gateway stays up and never prints a key.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace llmrt {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr auto kPatience = 60s;
#else
constexpr auto kPatience = 15s;
#endif

std::string sha256_prefix(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 12);
}

// `llmrt serve` with its stderr collected; SIGKILLed if still running at the end.
class Server {
 public:
  Server(std::vector<std::string> args, std::vector<std::string> environment) {
    args.insert(args.begin(), LLMRT_CLI_PATH);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    int err[2];
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(err[1]);
    reader_ = std::thread([this, fd = err[0]] {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) break;
        err_.append(buffer, static_cast<std::size_t>(n));
        changed_.notify_all();
      }
      ::close(fd);
    });
  }
  ~Server() {
    if (pid_ > 0) {  // never kill(-1): that would signal every process we may signal
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    reader_.join();
  }

  int wait_for_port() {
    std::unique_lock lock(mutex_);
    const std::regex pattern(R"(serving \d+ models on http://127\.0\.0\.1:(\d+))");
    std::smatch match;
    changed_.wait_for(lock, kPatience, [&] { return std::regex_search(err_, match, pattern); });
    return match.empty() ? 0 : std::stoi(match[1]);
  }
  std::string stderr_text() {
    std::lock_guard lock(mutex_);
    return err_;
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  // Its child processes now (its plugin workers), from /proc/<pid>/task/*/children.
  std::size_t children() const {
    std::size_t count = 0;
    std::error_code ec;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid_) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream list(task.path() / "children");
      for (pid_t child = 0; list >> child;) ++count;
    }
    return count;
  }
  bool stop() {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string err_;
};

std::string chat_body(std::string_view model, std::string_view prompt, bool stream) {
  return json::serialize(
      json::object{{"model", model},
                   {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}},
                   {"stream", stream}});
}

struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
  std::string error_code() const {
    boost::system::error_code ec;
    const json::value parsed = json::parse(body, ec);
    if (ec || !parsed.is_object() || !parsed.as_object().contains("error")) return "(no error)";
    const json::value& code = parsed.at("error").at("code");
    return code.is_string() ? std::string(code.as_string()) : "(null)";
  }
};

Reply post(int port, const std::string& body, const std::string& key) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(kPatience);
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.set_header("Authorization", "Bearer " + key);
  request.set_header("Content-Type", "application/json");
  request.body = body;
  Reply reply;
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    reply.body.append(data, size);
    return true;
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  client.send(request, response, error);
  reply.status = response.status;
  reply.retry_after = response.get_header_value("Retry-After");
  return reply;
}

// The text of an SSE stream of chat.completion.chunk events, or "(cut)" without [DONE].
std::string streamed_text(const std::string& body) {
  if (body.find("data: [DONE]") == std::string::npos) return "(cut) " + body;
  std::string text;
  std::size_t at = 0;
  while ((at = body.find("data: {", at)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", at);
    const json::value event = json::parse(body.substr(at + 6, end - at - 6));
    const json::value& delta = event.at("choices").at(0).at("delta");
    if (const auto* content = delta.as_object().if_contains("content")) {
      text += std::string(content->as_string());
    }
    at = end;
  }
  return text;
}

// The environment of a `llmrt serve` under test: its own home and user directory in `temp`, the
// isolation test plugins, PATH, and the sanitizers' settings.
std::vector<std::string> serve_environment(const test::TempDir& temp) {
  std::vector<std::string> environment = {
      "HOME=" + temp.path().string(), "LLMRT_USER_PATH=" + (temp.path() / "user").string(),
      std::string("LLMRT_PLUGIN_PATH=") + LLMRT_ISOLATION_PLUGIN_DIR};
  if (const char* path = std::getenv("PATH")) environment.push_back(std::string("PATH=") + path);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with("ASAN_") || text.starts_with("UBSAN_") || text.starts_with("TSAN_") ||
        text.starts_with("LSAN_")) {
      environment.emplace_back(text);
    }
  }
  return environment;
}

TEST(ServeIsolation, BadPluginCallsGetTheirErrorsWhileSixteenTenantsStreamAndTheGatewayStaysUp) {
  test::TempDir temp;
  const std::vector<std::string> environment = serve_environment(temp);
  Server server({"serve", "--port", "0", "--call-timeout", "2", "--max-output-bytes", "4000000",
                 "--workers-per-plugin", "4"},
                environment);
  const int port = server.wait_for_port();
  ASSERT_GT(port, 0) << server.stderr_text();

  std::mutex mutex;
  std::vector<std::string> failures;
  std::atomic<bool> bad_calls_done{false};
  std::vector<std::thread> tenants;
  for (int tenant = 0; tenant < 16; ++tenant) {
    tenants.emplace_back([&, tenant] {
      const std::string key = "sk-serve-tenant-" + std::to_string(tenant) + "-Hq2v";
      // Each tenant streams until the bad calls are over (at least once).
      for (int round = 0; round == 0 || !bad_calls_done; ++round) {
        const std::string prompt = "tenant " + std::to_string(tenant) + " round " +
                                   std::to_string(round) + " one two three four five";
        const Reply reply = post(port, chat_body("echo", prompt, true), key);
        const std::string expected = prompt + "\nkey-sha256: " + sha256_prefix(key);
        if (reply.status != 200 || streamed_text(reply.body) != expected) {
          std::lock_guard lock(mutex);
          failures.push_back("tenant " + std::to_string(tenant) + ": " +
                             std::to_string(reply.status) + " " + reply.body.substr(0, 300));
          return;
        }
      }
    });
  }

  const std::string bad_key = "sk-serve-bad-caller-Mv7";
  auto call = [&](const char* model) { return post(port, chat_body(model, "hi", false), bad_key); };
  const Reply crashed = call("segfault");
  EXPECT_EQ(crashed.status, 502) << crashed.body;
  EXPECT_EQ(crashed.error_code(), "plugin_crashed") << crashed.body;
  EXPECT_EQ(call("ok").status, 200) << "the plugin did not serve again after a respawn";
  const Reply hung = call("sleep");
  EXPECT_EQ(hung.status, 504) << hung.body;
  EXPECT_EQ(hung.error_code(), "timeout") << hung.body;
  const Reply flooded = call("flood");
  EXPECT_EQ(flooded.status, 502) << flooded.body;
  EXPECT_EQ(flooded.error_code(), "output_too_large") << flooded.body;
  // Four more crashes (five within the window): the plugin is quarantined.
  for (const char* model : {"abort", "exit", "close-socket", "garbage"}) {
    const Reply reply = call(model);
    EXPECT_EQ(reply.status, 502) << model << ": " << reply.body;
  }
  const Reply quarantined = call("ok");
  EXPECT_EQ(quarantined.status, 503) << quarantined.body;
  EXPECT_EQ(quarantined.error_code(), "plugin_unavailable") << quarantined.body;
  // The quarantine's own time left, not a fixed second (the crash window is 60 s by default).
  EXPECT_GT(std::atol(quarantined.retry_after.c_str()), 1) << "'" << quarantined.retry_after << "'";
  {
    // Monitors see the quarantined plugin in /healthz.
    httplib::Client client("127.0.0.1", port);
    const auto health = client.Get("/healthz");
    ASSERT_TRUE(health);
    const json::value body = json::parse(health->body);
    EXPECT_EQ(body.at("status").as_string(), "degraded") << health->body;
    bool quarantine_shown = false;
    for (const auto& plugin : body.at("unhealthy_plugins").as_array()) {
      quarantine_shown |= plugin.at("state").as_string() == "quarantined" &&
                          plugin.at("retry_after_seconds").as_int64() > 1;
    }
    EXPECT_TRUE(quarantine_shown) << health->body;
  }
  bad_calls_done = true;
  for (auto& tenant : tenants) tenant.join();

  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " tenant(s) failed, first: " << failures.front();
  EXPECT_TRUE(server.running());
  EXPECT_EQ(call("echo").status, 200);
  EXPECT_TRUE(server.stop()) << server.stderr_text();
  const std::string err = server.stderr_text();
  EXPECT_EQ(err.find("Hq2v"), std::string::npos) << "a tenant's key on stderr:\n" << err;
  EXPECT_EQ(err.find("Mv7"), std::string::npos) << "a key on stderr:\n" << err;
  EXPECT_NE(err.find("quarantined"), std::string::npos) << err;
}

// True once `pid` is gone (or a zombie waiting for init), polling up to `patience`.
bool ends_within(pid_t pid, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const std::size_t close = line.rfind(')');
    if (close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// llmrt serve gives a plugin more workers than cores by default (8 per core, at most one per
// admitted call): a worker is held for a call's whole round trip, so one per core left calls
// queueing for workers while the cores were free. Slow calls (the misbehaving plugin's `sleep`,
// ended by the call timeout) all get a worker of their own at once.
TEST(ServeIsolation, ByDefaultAPluginGetsMoreWorkersThanCores) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (cores > 8) GTEST_SKIP() << "too many cores to hold twice as many calls here";
  test::TempDir temp;
  const std::vector<std::string> environment = serve_environment(temp);
  Server server({"serve", "--port", "0", "--call-timeout", "1"}, environment);
  const int port = server.wait_for_port();
  ASSERT_GT(port, 0) << server.stderr_text();

  const std::size_t calls = 2 * cores + 2;
  std::vector<std::thread> callers;
  std::vector<int> statuses(calls, 0);
  for (std::size_t i = 0; i < calls; ++i) {
    callers.emplace_back([&, i] {
      statuses[i] = post(port, chat_body("sleep", "zz", false), "sk-worker-count-Hx").status;
    });
  }
  std::size_t most_workers = 0;
  for (int i = 0; i < 100 && most_workers < calls; ++i) {
    std::this_thread::sleep_for(20ms);
    most_workers = std::max(most_workers, server.children());
  }
  for (auto& caller : callers) caller.join();
  EXPECT_GE(most_workers, calls) << "only " << most_workers << " workers for " << calls
                                 << " calls in flight on " << cores << " cores";
  for (std::size_t i = 0; i < calls; ++i) EXPECT_EQ(statuses[i], 504) << "call " << i;
}

TEST(ServeIsolation, WorkersDieWithAGatewayThatIsKilled) {
  test::TempDir temp;
  const std::vector<std::string> environment = serve_environment(temp);
  Server server({"serve", "--port", "0"}, environment);
  const int port = server.wait_for_port();
  ASSERT_GT(port, 0) << server.stderr_text();

  // A stream through the "slow" model, whose first chunk is its worker's pid.
  std::atomic<pid_t> worker{0};
  std::thread stream([&] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(kPatience);
    httplib::Request request;
    request.method = "POST";
    request.path = "/v1/chat/completions";
    request.set_header("Content-Type", "application/json");
    request.body = chat_body("slow", "go", true);
    std::string body;
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
      body.append(data, size);
      const std::size_t at = body.find("pid:");
      if (worker == 0 && at != std::string::npos) worker = std::atoi(body.c_str() + at + 4);
      return true;
    };
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    client.send(request, response, error);  // ends when the gateway is killed
  });
  for (int i = 0; i < 1000 && worker == 0; ++i) std::this_thread::sleep_for(10ms);
  const pid_t pid = worker;
  const bool alive_before = pid > 1 && !ends_within(pid, 100ms);
  server.kill_now();  // mid-stream
  stream.join();
  ASSERT_GT(pid, 1) << "no worker pid in the stream";
  EXPECT_TRUE(alive_before) << "the worker ended before the gateway was killed";
  EXPECT_TRUE(ends_within(pid, 5s)) << "worker " << pid << " outlived its gateway";
}

}  // namespace
}  // namespace llmrt
