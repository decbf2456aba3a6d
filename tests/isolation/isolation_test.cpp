// Plugin isolation: every way the misbehaving plugin breaks (crash, abort, exit, hang, floods,
// a closed or garbled connection, a fork) costs its own call only. Meanwhile 16 tenants stream
// through echo with their own keys, and every one of them completes with its own key's
// fingerprint; afterwards the bad plugin serves again (respawned), or is quarantined after
// repeated crashes. Also: a worker killed from outside mid-stream, a missing worker executable, a
// worker that fails its handshake, and what a worker's environment holds.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <llmrt/llmrt.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

constexpr int kTenants = 16;

std::string sha256_prefix(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 12);
}

std::string tenant_key(int tenant) {
  return "sk-tenant-" + std::to_string(tenant) + "-Zq8wLp3";
}

// Everything the plugins printed, as the host's log received it.
class CapturedLog {
 public:
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class IsolationTest : public ::testing::Test {
 protected:
  RuntimeConfig config() {
    RuntimeConfig config = test::isolated_config(temp_.path(), environment_);
    config.plugin_paths.push_back(std::filesystem::path(LLMRT_ISOLATION_PLUGIN_DIR) /
                                  "misbehaving.so");
    config.isolation.mode = IsolationMode::process;
    config.isolation.workers_per_plugin = 4;
    config.isolation.call_timeout = 2s;
    config.isolation.stop_grace = 300ms;
    config.isolation.max_output_bytes = 4u << 20;
    config.isolation.respawn_delay = 10ms;
    config.isolation.max_respawn_delay = 100ms;
    config.isolation.plugin_log = log_.sink();
    return config;
  }

  // 16 tenants stream through echo at once, each with its own key; returns the failures.
  static std::vector<std::string> run_tenants(const Runtime& runtime,
                                              const std::function<void()>& meanwhile) {
    std::mutex mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> tenants;
    for (int tenant = 0; tenant < kTenants; ++tenant) {
      tenants.emplace_back([&, tenant] {
        const std::string key = tenant_key(tenant);
        const std::string text = "tenant " + std::to_string(tenant) + " says hello there";
        std::string streamed;
        try {
          PromptOptions options;
          options.key = Key(key);
          options.options = {{"delay_ms", "5"}};
          options.on_chunk = [&](std::string_view chunk) {
            streamed.append(chunk);
            return true;
          };
          const Response response = runtime.get_model("echo").prompt(text, std::move(options));
          const std::string expected = text + "\nkey-sha256: " + sha256_prefix(key);
          if (response.text != expected || streamed != expected || response.cancelled) {
            std::lock_guard lock(mutex);
            failures.push_back("tenant " + std::to_string(tenant) + " got '" + response.text + "'");
          }
        } catch (const std::exception& error) {
          std::lock_guard lock(mutex);
          failures.push_back("tenant " + std::to_string(tenant) + ": " + error.what());
        }
      });
    }
    meanwhile();
    for (auto& tenant : tenants) tenant.join();
    return failures;
  }

  // Runs model `id` and returns the Error it ended with (a default one if it did not throw).
  static Error failure_of(const Runtime& runtime, const std::string& id,
                          PromptOptions options = {}) {
    try {
      runtime.get_model(id).prompt("hi", std::move(options));
    } catch (const Error& error) {
      return error;
    }
    return Error(ErrorCode::usage, "(it did not fail)");
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
  CapturedLog log_;
};

struct BadCase {
  const char* model;
  ErrorCode expected;
  const char* in_message;  // a piece of the message that says what happened
};

std::ostream& operator<<(std::ostream& out, const BadCase& bad) {
  return out << bad.model;
}

class BadPluginTest : public IsolationTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadPluginTest, CostsOnlyItsOwnCallWhileTenantsStreamAndThePluginServesAgain) {
  const BadCase& bad = GetParam();
  const Runtime runtime(config());
  ASSERT_TRUE(runtime.load_errors().empty()) << runtime.load_errors().front().message;

  std::optional<Error> bad_error;
  const std::vector<std::string> failures =
      run_tenants(runtime, [&] { bad_error = failure_of(runtime, bad.model); });
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " tenant(s) failed, first: " << failures.front();
  ASSERT_TRUE(bad_error.has_value());
  EXPECT_EQ(bad_error->code(), bad.expected) << bad_error->what();
  const std::string message = bad_error->what();
  EXPECT_NE(message.find("model '" + std::string(bad.model) + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("plugin 'misbehaving'"), std::string::npos) << message;
  EXPECT_NE(message.find(bad.in_message), std::string::npos) << message;

  // The plugin serves again, on a respawned worker where one was lost.
  EXPECT_EQ(runtime.get_model("ok").prompt("still here").text, "still here");
  for (const PluginInfo& plugin : runtime.plugins()) {
    if (plugin.name == "echo") EXPECT_EQ(plugin.health.state, "ok");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, BadPluginTest,
    ::testing::Values(BadCase{"segfault", ErrorCode::plugin_crashed, "killed by SIGSEGV"},
                      BadCase{"abort", ErrorCode::plugin_crashed, "killed by SIGABRT"},
                      BadCase{"exit", ErrorCode::plugin_crashed, "exited with status 7"},
                      BadCase{"spin", ErrorCode::timeout, "did not stop and was killed"},
                      BadCase{"sleep", ErrorCode::timeout, "did not stop and was killed"},
                      BadCase{"flood", ErrorCode::output_too_large, "passed the limit"},
                      BadCase{"close-socket", ErrorCode::plugin_crashed, "its worker process"},
                      BadCase{"garbage", ErrorCode::plugin_crashed, "broke the protocol"},
                      BadCase{"fork-exit", ErrorCode::plugin_crashed, "exited with status 0"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.model;
      for (char& c : name) c = c == '-' ? '_' : c;
      return name;
    });

// ABI 2.2 across the boundary: a long conversation (system prompt, many earlier turns of varied
// sizes) reaches echo in its worker exactly as in-process, and its usage report comes back; a
// model that cannot read conversations gets the 2.1 prompt and the same warning.
TEST_F(IsolationTest, AConversationReachesAWorkerAsInProcessAndItsUsageComesBack) {
  RuntimeConfig in_process_config = config();
  in_process_config.isolation.mode = IsolationMode::in_process;
  const Runtime in_process(std::move(in_process_config));
  const Runtime isolated(config());
  std::vector<Message> history;
  for (int turn = 0; turn < 400; ++turn) {
    history.push_back({turn % 2 == 0 ? "user" : "assistant",
                       std::string(static_cast<std::size_t>(turn % 7), 'w') + " word " +
                           std::to_string(turn) + std::string(turn % 5, ' ') + "end"});
  }
  for (const bool stream : {false, true}) {
    for (const char* model : {"echo", "legacy-echo"}) {
      const auto ask = [&](const Runtime& runtime) {
        PromptOptions options;
        options.system = "answer in three words please";
        options.history = history;
        options.stream = stream;
        return runtime.get_model(model).prompt("and now this", std::move(options));
      };
      const Response expected = ask(in_process);
      const Response got = ask(isolated);
      EXPECT_EQ(got.text, expected.text) << model << (stream ? " streamed" : "");
      EXPECT_EQ(got.warnings, expected.warnings) << model;
      ASSERT_EQ(got.usage.has_value(), expected.usage.has_value()) << model;
      if (got.usage) {
        EXPECT_EQ(got.usage->input_tokens, expected.usage->input_tokens) << model;
        EXPECT_EQ(got.usage->output_tokens, expected.usage->output_tokens) << model;
        EXPECT_EQ(got.usage->details_json, expected.usage->details_json) << model;
      }
    }
  }
  // echo counts every word it read: the system prompt's 5, the prompt's 3, and each turn's: "word",
  // the number (glued to "end" when no space follows it), "end" after a space, the run of w's.
  std::int64_t words = 5 + 3;
  for (int turn = 0; turn < 400; ++turn) words += 2 + (turn % 5 != 0) + (turn % 7 != 0);
  PromptOptions options;
  options.system = "answer in three words please";
  options.history = history;
  const Response response = isolated.get_model("echo").prompt("and now this", std::move(options));
  ASSERT_TRUE(response.usage.has_value());
  EXPECT_EQ(response.usage->input_tokens, words) << response.text;
}

// A prompt whose conversation does not fit in one frame is refused as a bad request before
// anything reaches the worker: no crash is counted and the worker serves the next call.
TEST_F(IsolationTest, AConversationTooLargeForAFrameIsRefusedAndTheWorkerServesOn) {
  const Runtime runtime(config());
  PromptOptions options;
  options.history = {{"user", std::string(40u << 20, 'a')},
                     {"assistant", std::string(30u << 20, 'b')}};
  try {
    runtime.get_model("echo").prompt("hi", std::move(options));
    FAIL() << "a 70 MiB conversation was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_NE(std::string(error.what()).find("MiB a call to a plugin's worker process may carry"),
              std::string::npos)
        << error.what();
  }
  EXPECT_EQ(runtime.get_model("echo").prompt("still here").text, "still here");
  for (const PluginInfo& plugin : runtime.plugins()) {
    if (plugin.name == "echo") {
      EXPECT_EQ(plugin.health.state, "ok");
      EXPECT_EQ(plugin.health.crashes, 0u);
    }
  }
}

TEST_F(IsolationTest, ACrashMarksThePluginDegradedAndRepeatedCrashesQuarantineIt) {
  RuntimeConfig config = this->config();
  config.isolation.crash_limit = 3;
  const Runtime runtime(config);
  auto health = [&] {
    for (const PluginInfo& plugin : runtime.plugins()) {
      if (plugin.name == "misbehaving") return plugin.health;
    }
    return PluginHealth{"missing"};
  };
  EXPECT_EQ(health().state, "ok");
  EXPECT_EQ(failure_of(runtime, "segfault").code(), ErrorCode::plugin_crashed);
  EXPECT_EQ(health().state, "degraded");
  EXPECT_EQ(health().crashes, 1u);
  EXPECT_EQ(failure_of(runtime, "abort").code(), ErrorCode::plugin_crashed);
  EXPECT_EQ(failure_of(runtime, "exit").code(), ErrorCode::plugin_crashed);

  // Three crashes within the window: even a well-behaved model of that plugin is refused now.
  const Error refused = failure_of(runtime, "ok");
  EXPECT_EQ(refused.code(), ErrorCode::plugin_unavailable) << refused.what();
  EXPECT_NE(std::string(refused.what()).find("quarantined"), std::string::npos) << refused.what();
  EXPECT_EQ(health().state, "quarantined");
  EXPECT_GT(health().retry_after.count(), 0);
  // Other plugins are untouched.
  EXPECT_EQ(runtime.get_model("echo").prompt("fine", {.stream = false}).text, "fine");
}

TEST_F(IsolationTest, AQuarantineEndsWhenTheCrashWindowHasPassed) {
  RuntimeConfig config = this->config();
  config.isolation.crash_limit = 1;
  config.isolation.crash_window = 300ms;
  const Runtime runtime(config);
  EXPECT_EQ(failure_of(runtime, "segfault").code(), ErrorCode::plugin_crashed);
  EXPECT_EQ(failure_of(runtime, "ok").code(), ErrorCode::plugin_unavailable);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(runtime.get_model("ok").prompt("back").text, "back");
}

TEST_F(IsolationTest, AWorkerKilledFromOutsideMidStreamFailsOnlyItsCall) {
  const Runtime runtime(config());
  std::atomic<pid_t> worker{0};
  std::optional<Error> error;
  std::string streamed;
  const std::vector<std::string> failures = run_tenants(runtime, [&] {
    PromptOptions options;
    options.on_chunk = [&](std::string_view chunk) {
      streamed.append(chunk);
      if (worker == 0 && chunk.substr(0, 4) == "pid:") {
        worker = std::stoi(std::string(chunk.substr(4)));
        if (worker > 1) ::kill(worker, SIGKILL);
      }
      return true;
    };
    try {
      runtime.get_model("slow").prompt("go", std::move(options));
    } catch (const Error& caught) {
      error = caught;
    }
  });
  EXPECT_TRUE(failures.empty()) << failures.front();
  ASSERT_GT(worker.load(), 0) << streamed;
  ASSERT_TRUE(error.has_value()) << "the killed call did not fail: " << streamed;
  EXPECT_EQ(error->code(), ErrorCode::plugin_crashed) << error->what();
  EXPECT_NE(std::string(error->what()).find("SIGKILL"), std::string::npos) << error->what();
  EXPECT_EQ(runtime.get_model("ok").prompt("again").text, "again");
}

TEST_F(IsolationTest, CancellingAStreamCrossesTheBoundaryAndKeepsTheWorker) {
  const Runtime runtime(config());
  std::string pid_line;
  PromptOptions options;
  int chunks = 0;
  options.on_chunk = [&](std::string_view chunk) {
    if (pid_line.empty()) pid_line = std::string(chunk);
    return ++chunks < 3;  // stop after the third chunk
  };
  const Response response = runtime.get_model("slow").prompt("go", std::move(options));
  EXPECT_TRUE(response.cancelled);
  EXPECT_LE(response.chunk_count, 4u);
  // The same worker (it stopped when asked) serves the next call.
  std::string next_pid;
  PromptOptions again;
  again.on_chunk = [&](std::string_view chunk) {
    next_pid = std::string(chunk);
    return false;
  };
  runtime.get_model("slow").prompt("go", std::move(again));
  EXPECT_EQ(next_pid, pid_line);
}

// A worker waits for its next call without being woken for anything else: when the host reads
// the worker's answer, the kernel wakes whoever waits on the worker's socket for room to write,
// and a worker blocked in read() (not poll() for input) was switched in for nothing on every call.
// Counted by the worker's voluntary context switches over calls made as the gateway makes them
// (prompt_async): about one per call, the wait for the next (1.7 per call before).
TEST_F(IsolationTest, AWorkerSleepsOncePerCall) {
  RuntimeConfig one_worker = config();
  one_worker.isolation.workers_per_plugin = 1;
  one_worker.isolation.call_spin = std::chrono::microseconds(0);  // a spin would catch calls awake
  const Runtime runtime(std::move(one_worker));
  std::string pid_line;
  PromptOptions first;
  first.on_chunk = [&](std::string_view chunk) {
    pid_line = std::string(chunk);
    return false;  // "pid:<pid>\n", then stop
  };
  runtime.get_model("slow").prompt("go", std::move(first));
  ASSERT_EQ(pid_line.rfind("pid:", 0), 0u) << pid_line;
  const std::string status_file = "/proc/" + pid_line.substr(4, pid_line.size() - 5) + "/status";
  const auto voluntary_switches = [&]() -> long {
    std::ifstream status(status_file);
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stol(line.substr(24));
    }
    return -1;
  };
  const Model ok = runtime.get_model("ok");
  ASSERT_EQ(ok.prompt("warm").text, "warm");
  const long before = voluntary_switches();
  ASSERT_GE(before, 0) << "cannot read " << status_file;
  constexpr int kCalls = 200;
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(ok.prompt_async("call").get().text, "call");
  const long per_hundred_calls = (voluntary_switches() - before) * 100 / kCalls;
  EXPECT_LE(per_hundred_calls, 130) << "the worker was woken more than once per call";
}

// The worker is told how long to wait busy for its next call (IsolationConfig::call_spin), through
// its environment, whatever the host's own environment says.
TEST_F(IsolationTest, AWorkerIsToldTheCallSpinOfItsConfig) {
  ::setenv("LLMRT_WORKER_SPIN_US", "999", 1);
  for (const long spin : {0L, 20L, 35L}) {
    RuntimeConfig spinning = config();
    spinning.isolation.call_spin = std::chrono::microseconds(spin);
    const Runtime runtime(std::move(spinning));
    EXPECT_EQ(runtime.get_model("env").prompt("LLMRT_WORKER_SPIN_US").text, std::to_string(spin));
  }
  ::unsetenv("LLMRT_WORKER_SPIN_US");
}

// A worker that writes faster than its caller consumes (the `flood` model, to a caller that takes
// 2 ms per chunk) is read only as far as the next frames: the host once read on while the socket
// was never empty, up to 64 MiB per worker, and kept the room after the call (a gateway with 10
// flooding workers held 410 MiB). Measured by this process's peak resident memory.
TEST_F(IsolationTest, AFloodingWorkerIsNotReadFarAheadOfItsCaller) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's shadow memory and quarantine make resident memory meaningless";
#endif
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // resets VmHWM, the peak resident memory
    if (!reset.flush()) GTEST_SKIP() << "cannot reset the peak resident memory here";
  }
  const auto peak_kib = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1L;
  };
  RuntimeConfig limited = config();
  limited.isolation.max_output_bytes = 8u << 20;
  limited.isolation.call_timeout = 20s;
  const Runtime runtime(std::move(limited));
  const Model flood = runtime.get_model("flood");
  ASSERT_EQ(runtime.get_model("ok").prompt("warm").text, "warm");  // the worker pool is up
  std::ofstream("/proc/self/clear_refs") << "5";
  const long before = peak_kib();
  PromptOptions slow;
  slow.on_chunk = [](std::string_view) {
    std::this_thread::sleep_for(2ms);
    return true;
  };
  try {
    flood.prompt("go", std::move(slow));
    ADD_FAILURE() << "the flood ended without passing the output limit";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::output_too_large) << error.what();
  }
  const long grown_mib = (peak_kib() - before) / 1024;
  EXPECT_LT(grown_mib, 24) << "the host buffered the flood far ahead of its caller";
}

TEST_F(IsolationTest, ATimeoutAsksTheWorkerToStopAndKeepsItWhenItDoes) {
  RuntimeConfig config = this->config();
  config.isolation.call_timeout = 200ms;
  config.isolation.workers_per_plugin = 1;
  const Runtime runtime(config);
  std::string first_pid;
  PromptOptions options;
  options.on_chunk = [&](std::string_view chunk) {
    if (first_pid.empty()) first_pid = std::string(chunk);
    return true;
  };
  const Error error = failure_of(runtime, "slow", std::move(options));
  EXPECT_EQ(error.code(), ErrorCode::timeout) << error.what();
  EXPECT_EQ(std::string(error.what()).find("killed"), std::string::npos) << error.what();
  std::string second_pid;
  PromptOptions again;
  again.on_chunk = [&](std::string_view chunk) {
    second_pid = std::string(chunk);
    return false;
  };
  runtime.get_model("slow").prompt("go", std::move(again));
  EXPECT_EQ(second_pid, first_pid);
}

TEST_F(IsolationTest, AStderrFloodReachesTheLogRateLimitedAndPrefixed) {
  const Runtime runtime(config());
  EXPECT_EQ(runtime.get_model("stderr").prompt("go").text, "done");
  // The log thread may still be reading: give it a moment to reach the end of the flood.
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) {
    lines = log_.lines();
    bool dropped = false;
    for (const auto& line : lines) dropped = dropped || line.find("dropped") != std::string::npos;
    if (dropped) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(lines.empty());
  EXPECT_LT(lines.size(), 1000u) << "20000 lines were not rate-limited";
  EXPECT_EQ(lines.front(), "[plugin misbehaving] flood line 0");
  for (const auto& line : lines) EXPECT_EQ(line.rfind("[plugin misbehaving] ", 0), 0u) << line;
}

TEST_F(IsolationTest, AWorkerSeesNoKeyFromTheEnvironmentOnlyHarmlessVariables) {
  ::setenv("OPENAI_API_KEY", "sk-env-secret-never-passed-1234", 1);
  ::setenv("LLMRT_TEST_SETTING", "passed", 1);
  const Runtime runtime(config());
  EXPECT_EQ(runtime.get_model("env").prompt("OPENAI_API_KEY").text, "(unset)");
  EXPECT_EQ(runtime.get_model("env").prompt("LLMRT_TEST_SETTING").text, "passed");
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("LLMRT_TEST_SETTING");
}

TEST_F(IsolationTest, AMemoryLimitStopsAPluginThatHogsMemoryAtTheLimit) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot apply";
#endif
  RuntimeConfig config = this->config();
  config.isolation.memory_limit = 512u << 20;
  const Runtime runtime(config);
  const Error error = failure_of(runtime, "hog");
  EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
  const std::string message = error.what();
  const std::size_t at = message.find("out of memory after ");
  ASSERT_NE(at, std::string::npos) << message;
  EXPECT_LT(std::stoul(message.substr(at + 20)), 512u) << message;
  EXPECT_EQ(runtime.get_model("ok").prompt("after").text, "after");
}

TEST_F(IsolationTest, AMissingWorkerExecutableIsALoadErrorNamingIt) {
  RuntimeConfig config = this->config();
  config.isolation.worker_path = temp_.path() / "no-such-llmrt-plugin-host";
  const Runtime runtime(config);
  ASSERT_FALSE(runtime.load_errors().empty());
  for (const LoadError& error : runtime.load_errors()) {
    EXPECT_EQ(error.kind, LoadErrorKind::load_failed);
    EXPECT_NE(error.message.find("no-such-llmrt-plugin-host"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("No such file"), std::string::npos) << error.message;
  }
  EXPECT_THROW(runtime.get_model("echo"), Error);
}

TEST_F(IsolationTest, AWorkerThatFailsItsHandshakeIsALoadError) {
  const std::filesystem::path fake = temp_.path() / "fake-host";
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\nprintf 'HELLO I AM NOT A WORKER' >&3\nsleep 5\n";
  }
  ::chmod(fake.c_str(), 0700);
  RuntimeConfig config = this->config();
  config.isolation.worker_path = fake;
  config.plugin_paths = {test::kBundledPluginDir / "echo.so"};
  const Runtime runtime(config);
  ASSERT_EQ(runtime.load_errors().size(), 1u);
  EXPECT_NE(runtime.load_errors()[0].message.find("broke the protocol"), std::string::npos)
      << runtime.load_errors()[0].message;
}

TEST_F(IsolationTest, ALoaderRefusalInAWorkerIsTheSameAsInProcess) {
  for (const char* file : {"bad_no_entry.so", "bad_abi_too_new.so", "bad_null_execute.so"}) {
    RuntimeConfig in_worker = config();
    in_worker.plugin_paths = {test::kTestPluginDir / file};
    RuntimeConfig in_process = in_worker;
    in_process.isolation.mode = IsolationMode::in_process;
    const Runtime a(in_worker);
    const Runtime b(in_process);
    ASSERT_EQ(a.load_errors().size(), 1u) << file;
    ASSERT_EQ(b.load_errors().size(), 1u) << file;
    EXPECT_EQ(a.load_errors()[0].kind, b.load_errors()[0].kind) << file;
    EXPECT_EQ(a.load_errors()[0].message, b.load_errors()[0].message) << file;
  }
}

TEST_F(IsolationTest, ModelMetadataIsCopiedFromTheWorkerAtLoad) {
  RuntimeConfig in_worker = config();
  RuntimeConfig in_process = test::isolated_config(temp_.path(), environment_);
  in_process.isolation.mode = IsolationMode::in_process;
  const Runtime a(in_worker);
  const Runtime b(in_process);
  const ModelInfo x = a.get_model("echo").info();
  const ModelInfo y = b.get_model("echo").info();
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.display_name, y.display_name);
  EXPECT_EQ(x.options_schema_json, y.options_schema_json);
  EXPECT_EQ(x.accepts_key, y.accepts_key);
  EXPECT_EQ(x.streaming, y.streaming);
  EXPECT_EQ(x.reentrant, y.reentrant);
  EXPECT_EQ(x.plugin_path, y.plugin_path);
  // Option checking needs no worker: a bad option fails the same way.
  PromptOptions options;
  options.options = {{"delay_ms", "-5"}};
  EXPECT_THROW(a.get_model("echo").prompt("x", std::move(options)), Error);
}

TEST_F(IsolationTest, ThePerPluginOverrideWinsOverTheMode) {
  RuntimeConfig config = this->config();
  config.isolation.per_plugin["echo"] = IsolationMode::in_process;
  const Runtime runtime(config);
  for (const PluginInfo& plugin : runtime.plugins()) {
    EXPECT_EQ(plugin.isolation,
              plugin.name == "echo" ? IsolationMode::in_process : IsolationMode::process)
        << plugin.name;
  }
}

}  // namespace
}  // namespace llmrt
