// How the async workers are woken (RuntimeConfig::async_active_workers, async_starvation_delay):
// calls queued while enough workers are awake wait for those rather than waking more threads, and
// calls queued behind workers that are blocked still all start once they have waited the
// starvation delay. The spin is off here, so that every hand-over is a wake-up or a worker taking
// the next call after its last.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

class AsyncWake : public ::testing::Test {
 protected:
  RuntimeConfig config(std::size_t threads, std::size_t active, std::chrono::microseconds delay) {
    RuntimeConfig config = test::isolated_config(temp_.path(), environment_);
    config.async_threads = threads;
    config.async_active_workers = active;
    config.async_starvation_delay = delay;
    config.async_idle_spin = {std::chrono::microseconds(0), false};
    return config;
  }

  // The workers start with the first call, and a worker that has just started takes whatever is
  // queued: one call first, then time for every thread to reach its wait.
  static void warm_up(const Model& model) {
    EXPECT_EQ(model.prompt_async("warm").get().text, "warm");
    std::this_thread::sleep_for(300ms);
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
};

// Twenty 20 ms calls queued at once on 16 workers, 2 of them active: the 2 woken by the first two
// calls run all twenty back to back, and the other 14 threads never run one. (A pool that woke a
// worker per call would run them on up to 16 threads.)
TEST_F(AsyncWake, CallsQueuedWhileEnoughWorkersAreAwakeWaitForThem) {
  Runtime runtime(config(16, 2, std::chrono::seconds(30)));
  const Model model = runtime.get_model("echo");
  warm_up(model);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::vector<AsyncResponse> responses;
  for (int i = 0; i < 20; ++i) {
    PromptOptions options;
    options.options = {{"delay_ms", "20"}};
    options.on_chunk = [&](std::string_view) {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
      return true;
    };
    responses.push_back(model.prompt_async("call" + std::to_string(i), std::move(options)));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(responses[i].get().text, "call" + std::to_string(i));
  std::lock_guard lock(mutex);
  EXPECT_LE(threads.size(), 2u) << "calls woke more workers than async_active_workers";
}

// Four calls that each block until all four have started, with one active worker: only the
// starvation delay gets the other three going. Without it they would wait forever behind the
// first (the wait below gives up after 10 s and fails the test).
TEST_F(AsyncWake, CallsBehindBlockedWorkersStartAfterTheStarvationDelay) {
  Runtime runtime(config(8, 1, std::chrono::milliseconds(2)));
  const Model model = runtime.get_model("echo");
  warm_up(model);
  std::mutex mutex;
  std::condition_variable all_started;
  int started = 0;
  bool timed_out = false;
  std::vector<AsyncResponse> responses;
  for (int i = 0; i < 4; ++i) {
    PromptOptions options;
    options.on_chunk = [&](std::string_view) {
      std::unique_lock lock(mutex);
      ++started;
      all_started.notify_all();
      if (!all_started.wait_for(lock, 10s, [&] { return started >= 4; })) timed_out = true;
      return true;
    };
    responses.push_back(model.prompt_async("blocked" + std::to_string(i), std::move(options)));
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(responses[i].get().text, "blocked" + std::to_string(i));
  std::lock_guard lock(mutex);
  EXPECT_FALSE(timed_out) << "a call queued behind blocked workers never started";
  EXPECT_EQ(started, 4);
}

// The same with calls arriving one by one while earlier ones stay blocked: the worker that watched
// the queue leaves to run a starving call, and another must take over watching, or the next call
// would wait behind blocked workers with nobody timing it.
TEST_F(AsyncWake, WatchingPassesOnWhenTheWatcherRunsAStarvingCall) {
  Runtime runtime(config(8, 1, std::chrono::milliseconds(2)));
  const Model model = runtime.get_model("echo");
  warm_up(model);
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0;
  bool release = false;
  std::vector<AsyncResponse> responses;
  for (int i = 0; i < 5; ++i) {
    PromptOptions options;
    options.on_chunk = [&](std::string_view) {
      std::unique_lock lock(mutex);
      ++started;
      changed.notify_all();
      // Longer than the test's own wait below: a call must not free its worker by giving up.
      changed.wait_for(lock, 60s, [&] { return release; });
      return true;
    };
    responses.push_back(model.prompt_async("one" + std::to_string(i), std::move(options)));
    std::unique_lock lock(mutex);
    EXPECT_TRUE(changed.wait_for(lock, 10s, [&] { return started == i + 1; }))
        << "call " << i << " did not start while " << i << " earlier calls were blocked";
  }
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(responses[i].get().text, "one" + std::to_string(i));
}

}  // namespace
}  // namespace llmrt
