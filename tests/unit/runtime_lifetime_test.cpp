// A Runtime's lifetime and its per-model queues: destroying a Runtime waits for its async calls
// and never joins a worker from itself, wherever it happens (the last owner dropped by a job on a
// worker, or a callback destroying it mid-call); once destruction begins prompt_async says
// `usage`; and a model that is not reentrant holds one worker at most, so other models' calls run
// while its calls queue.
//
// Each destruction case runs 100 times: a join of the calling thread aborts the process
// ("Resource deadlock avoided"), which any one run would show.
#include <gtest/gtest.h>

#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

constexpr int kRepeats = 100;
// A bound for "promptly" that only a call stuck behind others would exceed; not a measurement.
constexpr std::chrono::seconds kGenerousBound{20};

class RuntimeLifetime : public ::testing::Test {
 protected:
  RuntimeConfig config(std::size_t workers = 2) const {
    RuntimeConfig config = test::isolated_config(user_dir_.path(), environment_);
    // Only what the tests call (see async_completion_test.cpp: unloads on a worker under TSan).
    config.plugin_paths = {test::kBundledPluginDir / "echo.so", test::kTestPluginDir / "serial.so"};
    config.async_threads = workers;
    return config;
  }

  test::TempDir user_dir_;
  test::FakeEnvironment environment_;
};

// The job's on_chunk holds the last reference to the Runtime: it is destroyed on the worker that
// ran the call (before: that worker joined itself, and the process aborted).
TEST_F(RuntimeLifetime, LastOwnerHeldByAnOnChunkCallbackIsReleasedOnAWorker) {
  for (int run = 0; run < kRepeats; ++run) {
    SCOPED_TRACE(run);
    auto runtime = std::make_shared<Runtime>(config());
    const Model model = runtime->get_model("echo");
    std::promise<void> released;
    std::shared_future<void> release = released.get_future().share();
    PromptOptions options;
    options.on_chunk = [owner = runtime, release](std::string_view) {
      release.wait();  // until the test has dropped its own reference
      return true;
    };
    AsyncResponse call = model.prompt_async("one two", std::move(options));
    runtime.reset();
    released.set_value();
    EXPECT_EQ(call.get().text, "one two");
  }
}

// A callback destroys the Runtime in the middle of its own call, with more calls queued: the
// destruction waits for those, the call in progress finishes, and prompt_async from then on is a
// usage error (never `busy`).
// Half the runs have a single worker, which cannot wait for the others: they run after its call.
TEST_F(RuntimeLifetime, DestroyedFromInsideItsOwnCallbackWhileOtherCallsAreQueued) {
  for (int run = 0; run < kRepeats; ++run) {
    SCOPED_TRACE(run);
    auto runtime = std::make_shared<Runtime>(config(1 + run % 2));
    const Model echo = runtime->get_model("echo");
    const Model serial = runtime->get_model("serial");
    std::optional<ErrorCode> late_call;
    std::atomic<bool> destroyed{false};
    std::promise<void> all_submitted;
    std::shared_future<void> submitted = all_submitted.get_future().share();
    PromptOptions options;
    options.on_chunk = [&, submitted, owner = std::move(runtime)](std::string_view) mutable {
      if (owner) {
        submitted.wait();  // the other calls are queued (or running) by then
        owner.reset();     // ~Runtime, on this worker, during this call
        destroyed = true;
        try {
          (void)echo.prompt_async("too late");
        } catch (const Error& error) {
          late_call = error.code();
        }
      }
      return true;
    };
    std::vector<AsyncResponse> others;
    AsyncResponse destroyer = echo.prompt_async("a b c", std::move(options));
    for (int i = 0; i < 6; ++i) {
      others.push_back((i % 2 == 0 ? echo : serial).prompt_async("other " + std::to_string(i)));
    }
    all_submitted.set_value();
    EXPECT_EQ(destroyer.get().text, "a b c");
    EXPECT_TRUE(destroyed.load());
    EXPECT_EQ(late_call, ErrorCode::usage);
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(others[static_cast<std::size_t>(i)].get().text, "other " + std::to_string(i));
    }
  }
}

// Calls queued on a serialized model's queue all run before the destructor returns, in order.
TEST_F(RuntimeLifetime, DestructionRunsEveryCallQueuedOnASerializedModel) {
  std::vector<AsyncResponse> calls;
  std::mutex order_mutex;
  std::vector<int> order;
  {
    Runtime runtime(config(4));
    const Model serial = runtime.get_model("serial");
    for (int i = 0; i < 8; ++i) {
      PromptOptions options;
      options.on_chunk = [&, i](std::string_view) {
        std::lock_guard lock(order_mutex);
        order.push_back(i);
        return true;
      };
      calls.push_back(serial.prompt_async("call " + std::to_string(i), std::move(options)));
    }
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(calls[static_cast<std::size_t>(i)].done()) << i;
    EXPECT_EQ(calls[static_cast<std::size_t>(i)].get().text, "call " + std::to_string(i));
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

// Another thread keeps submitting while the Runtime is destroyed: every accepted call completes,
// and every refusal is `usage`.
TEST_F(RuntimeLifetime, SubmittingWhileTheRuntimeIsDestroyedIsUsageOrCompletes) {
  for (int run = 0; run < kRepeats; ++run) {
    SCOPED_TRACE(run);
    auto runtime = std::make_unique<Runtime>(config());
    const Model model = runtime->get_model("echo");
    std::latch submitting(1);
    std::vector<AsyncResponse> accepted;
    std::optional<ErrorCode> refused;
    std::thread submitter([&] {
      submitting.count_down();
      for (int i = 0; !refused && i < 100000; ++i) {
        try {
          accepted.push_back(model.prompt_async("x"));
        } catch (const Error& error) {
          if (error.code() != ErrorCode::busy) refused = error.code();  // busy: a full queue
        }
      }
    });
    submitting.wait();
    runtime.reset();
    submitter.join();
    EXPECT_EQ(refused, ErrorCode::usage);
    for (auto& call : accepted) EXPECT_EQ(call.get().text, "x");
  }
}

// ---- Per-model queues ------------------------------------------------------------------------

// Four workers, eight calls queued on the non-reentrant "serial" model, the first of them held in
// its callback: a call to the reentrant echo model still runs at once (before: the serial calls
// held every worker, three of them waiting on the model's lock, and echo waited behind them all).
TEST_F(RuntimeLifetime, SerializedModelHoldsOneWorkerWhileOtherModelsRun) {
  Runtime runtime(config(4));
  const Model serial = runtime.get_model("serial");
  const Model echo = runtime.get_model("echo");
  ASSERT_FALSE(serial.info().reentrant);
  ASSERT_TRUE(echo.info().reentrant);

  std::promise<void> released;
  std::shared_future<void> release = released.get_future().share();
  std::latch first_started(1);
  std::atomic<bool> first{true};
  std::atomic<int> serial_finished{0};
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<AsyncResponse> serial_calls;
  for (int i = 0; i < 8; ++i) {
    PromptOptions options;
    options.on_chunk = [&, i, release](std::string_view) {
      if (first.exchange(false)) first_started.count_down();
      release.wait();
      std::lock_guard lock(order_mutex);
      order.push_back(i);
      return true;
    };
    serial_calls.push_back(serial.prompt_async("slow " + std::to_string(i), std::move(options)));
  }
  first_started.wait();
  const Model::AsyncLoad load = serial.async_load();
  EXPECT_EQ(load.running, 1u);
  EXPECT_EQ(load.queued, 7u);

  AsyncResponse fast = echo.prompt_async("fast");
  const bool fast_done = fast.wait_for(kGenerousBound);
  for (const auto& call : serial_calls) serial_finished += call.done() ? 1 : 0;
  released.set_value();
  EXPECT_TRUE(fast_done) << "the echo call waited behind the serialized ones";
  EXPECT_EQ(serial_finished.load(), 0);
  if (fast_done) EXPECT_EQ(fast.get().text, "fast");

  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(serial_calls[static_cast<std::size_t>(i)].get().text, "slow " + std::to_string(i));
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7})) << "a model's queue is FIFO";
}

}  // namespace
}  // namespace llmrt
