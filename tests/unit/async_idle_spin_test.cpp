// Workers that busy-wait for their next call (RuntimeConfig::async_idle_spin) must still wake a
// sleeping worker for every call the spinner cannot take: a call is never left queued behind a
// slow one while another worker sleeps, and no call is lost between a spinner giving up and going
// to sleep. The spin limit is set far above any call's length here, so that calls are submitted
// while a worker is spinning.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

class AsyncIdleSpin : public ::testing::Test {
 protected:
  RuntimeConfig config(std::size_t threads, std::chrono::microseconds spin, bool yield) const {
    RuntimeConfig config = test::isolated_config(temp_.path(), environment_);
    config.async_threads = threads;
    config.async_idle_spin = {spin, yield};
    return config;
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
};

// Two calls submitted back to back while one worker spins: the spinner takes one (a call that
// blocks until released), and the other must reach the second, sleeping worker. A pool that
// skipped the wake-up whenever anyone spun would leave it queued behind the blocked call.
TEST_F(AsyncIdleSpin, ACallBeyondWhatTheSpinnerTakesWakesASleepingWorker) {
  for (const bool yield : {false, true}) {
    Runtime runtime(config(2, std::chrono::seconds(2), yield));
    const Model model = runtime.get_model("echo");
    // The workers start with the first call; after it, both idle: one spinning, one asleep.
    EXPECT_EQ(model.prompt_async("warm").get().text, "warm");
    std::this_thread::sleep_for(20ms);

    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> blocked{0};
    PromptOptions blocking;
    blocking.on_chunk = [&](std::string_view) {
      ++blocked;
      released.wait();
      return true;
    };
    AsyncResponse slow = model.prompt_async("slow", std::move(blocking));
    AsyncResponse quick = model.prompt_async("quick");

    // A liveness bound, not a timing claim: without the wake-up this never finishes before
    // `release` (the slow call would hold it forever).
    const bool quick_done = quick.wait_for(std::chrono::milliseconds(10000));
    release.set_value();
    EXPECT_TRUE(quick_done) << "a call waited behind a blocked one while a worker slept (yield="
                            << yield << ")";
    EXPECT_EQ(quick.get().text, "quick");
    EXPECT_EQ(slow.get().text, "slow");
    EXPECT_EQ(blocked.load(), 1);
  }
}

// Many threads submitting and waiting at once, with short spins that often end just as a call
// arrives: every call completes with its own text (a lost wake-up would hang get()).
TEST_F(AsyncIdleSpin, EveryCallCompletesWhileSpinnersComeAndGo) {
  for (const auto spin : {std::chrono::microseconds(1), std::chrono::microseconds(50)}) {
    Runtime runtime(config(3, spin, false));
    const Model model = runtime.get_model("echo");
    constexpr int kThreads = 6;
    constexpr int kCalls = 400;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const std::string text = "t" + std::to_string(t) + "-" + std::to_string(i);
          AsyncResponse response = model.prompt_async(text);
          if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(30 + t * 10));
          if (response.get().text != text) ++wrong;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0) << "spin " << spin.count() << " us";
  }
}

// A Runtime whose worker is mid-spin is destroyed without waiting out the spin's limit being a
// correctness matter: the spinner notices the pool stopping and exits, and the destructor returns.
TEST_F(AsyncIdleSpin, DestroyingTheRuntimeStopsASpinningWorker) {
  auto runtime = std::make_unique<Runtime>(config(2, std::chrono::seconds(30), false));
  EXPECT_EQ(runtime->get_model("echo").prompt_async("before").get().text, "before");
  // The worker that ran the call now spins for up to 30 s. ctest's timeout (far below 30 s for
  // this test's label) would fail the test if the destructor waited for the spin to run out.
  const auto started = std::chrono::steady_clock::now();
  runtime.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

}  // namespace
}  // namespace llmrt
