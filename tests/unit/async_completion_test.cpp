// AsyncResponse::on_complete: the callback runs exactly once, on the worker that finished the call
// (or at once on the caller when the call has already ended), with a handle whose get() does not
// wait; whatever races with it (cancel, the caller dropping its handle, the Runtime's destruction)
// it neither runs twice nor is lost; it may hold the last owner of the Runtime; and one that
// throws leaves the runtime working. Run under TSan by .ci/run.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

constexpr int kRaces = 300;

class AsyncCompletion : public ::testing::Test {
 protected:
  RuntimeConfig config(std::size_t workers = 2) const {
    RuntimeConfig config = test::isolated_config(temp_.path(), environment_);
    // Only what the tests call: these tests unload the runtime (and its plugins) on a worker,
    // and TSan reports the provider plugins' static destructors at such an unload as races
    // with their next load at the same address (glibc's loader lock is invisible to it).
    config.plugin_paths = {test::kBundledPluginDir / "echo.so"};
    config.async_threads = workers;
    return config;
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
};

TEST_F(AsyncCompletion, RunsOnceOnAWorkerWithTheResultReady) {
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  std::promise<void> ran;
  std::atomic<int> calls{0};
  std::thread::id callback_thread;
  std::string text;
  bool was_done = false;

  AsyncResponse call = model.prompt_async("one two three");
  call.on_complete([&](AsyncResponse& finished) {
    ++calls;
    callback_thread = std::this_thread::get_id();
    was_done = finished.done();
    text = finished.get().text;
    ran.set_value();
  });
  ran.get_future().wait();
  EXPECT_EQ(call.get().text, "one two three");
  EXPECT_TRUE(was_done);
  EXPECT_EQ(text, "one two three");
  EXPECT_EQ(calls.load(), 1);
  // Either the worker ran it, or (the call having ended first) this thread did.
  EXPECT_TRUE(callback_thread != std::thread::id{});
}

TEST_F(AsyncCompletion, RunsAtOnceOnTheCallerWhenTheCallHasEnded) {
  Runtime runtime(config());
  AsyncResponse call = runtime.get_model("echo").prompt_async("hello");
  call.wait();
  std::thread::id callback_thread;
  int calls = 0;
  call.on_complete([&](AsyncResponse& finished) {
    ++calls;
    callback_thread = std::this_thread::get_id();
    EXPECT_EQ(finished.get().text, "hello");
  });
  EXPECT_EQ(calls, 1);  // before on_complete returned
  EXPECT_EQ(callback_thread, std::this_thread::get_id());
}

TEST_F(AsyncCompletion, RunsOnTheWorkerWhenSetBeforeTheCallEnds) {
  RuntimeConfig config = this->config(1);
  Runtime runtime(std::move(config));
  const Model model = runtime.get_model("echo");
  // The only worker is held by a slow call until released: the next call cannot have ended when
  // its callback is set.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  PromptOptions hold;
  hold.on_chunk = [released](std::string_view) {
    released.wait();
    return true;
  };
  AsyncResponse blocker = model.prompt_async("hold", std::move(hold));
  AsyncResponse call = model.prompt_async("later");
  std::promise<std::thread::id> ran_on;
  call.on_complete([&](AsyncResponse&) { ran_on.set_value(std::this_thread::get_id()); });
  release.set_value();
  const std::thread::id worker = ran_on.get_future().get();
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(blocker.get().text, "hold");
}

TEST_F(AsyncCompletion, FailuresReachTheCallbackThroughGet) {
  Runtime runtime(config());
  PromptOptions options;
  options.options = {{"fail", "broken on purpose"}};
  AsyncResponse call = runtime.get_model("echo").prompt_async("x", std::move(options));
  std::promise<std::string> message;
  call.on_complete([&](AsyncResponse& finished) {
    try {
      finished.get();
      message.set_value("no error");
    } catch (const Error& error) {
      message.set_value(error.what());
    }
  });
  EXPECT_NE(message.get_future().get().find("broken on purpose"), std::string::npos);
}

TEST_F(AsyncCompletion, ASecondCallbackOrAnEmptyOneIsAUsageError) {
  auto runtime = std::make_unique<Runtime>(config());
  AsyncResponse call = runtime->get_model("echo").prompt_async("x");
  try {
    call.on_complete({});
    ADD_FAILURE() << "an empty callback was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::usage);
  }
  std::atomic<int> calls{0};
  call.on_complete([&](AsyncResponse&) { ++calls; });
  AsyncResponse copy = call;
  try {
    copy.on_complete([&](AsyncResponse&) { calls += 100; });
    ADD_FAILURE() << "a second callback was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::usage);
  }
  runtime.reset();  // waits for every call, callbacks included
  EXPECT_EQ(calls.load(), 1);
}

// Many calls, each racing its callback's registration against the call's end, a cancel from
// another thread, and the caller dropping its handle at once: every callback runs exactly once,
// and all have run when the Runtime's destructor returns.
TEST_F(AsyncCompletion, ExactlyOnceUnderRacesWithCancelAndDroppedHandles) {
  std::vector<std::atomic<int>> runs(kRaces);
  {
    Runtime runtime(config());
    const Model model = runtime.get_model("echo");
    std::vector<AsyncResponse> to_cancel;
    for (int i = 0; i < kRaces; ++i) {
      AsyncResponse call = model.prompt_async("race " + std::to_string(i));
      if (i % 3 == 0) to_cancel.push_back(call);
      std::thread canceller;
      if (i % 3 == 1) canceller = std::thread([call]() mutable { call.cancel(); });
      call.on_complete([&runs, i](AsyncResponse& finished) {
        runs[i].fetch_add(1);
        const Response response = finished.get();  // never blocks here
        if (!response.cancelled) EXPECT_EQ(response.text, "race " + std::to_string(i));
      });
      if (canceller.joinable()) canceller.join();
    }
    std::thread canceller([&] {
      for (AsyncResponse& call : to_cancel) call.cancel();
    });
    canceller.join();
  }
  for (int i = 0; i < kRaces; ++i) EXPECT_EQ(runs[i].load(), 1) << "call " << i;
}

// The callback holds the last owner of the Runtime: the Runtime is destroyed on the worker that
// ran the callback, which must neither join itself nor lose calls queued behind it.
TEST_F(AsyncCompletion, CallbackMayHoldTheLastOwnerOfTheRuntime) {
  for (int run = 0; run < 100; ++run) {
    SCOPED_TRACE(run);
    auto runtime = std::make_shared<Runtime>(config(run % 2 == 0 ? 1 : 2));
    const Model model = runtime->get_model("echo");
    auto after = std::make_shared<std::atomic<int>>(0);
    std::promise<void> go;
    std::shared_future<void> started = go.get_future().share();
    PromptOptions hold;
    hold.on_chunk = [started](std::string_view) {
      started.wait();
      return true;
    };
    AsyncResponse first = model.prompt_async("first", std::move(hold));
    first.on_complete([owner = runtime](AsyncResponse&) mutable { owner.reset(); });
    AsyncResponse queued = model.prompt_async("queued");
    queued.on_complete([after](AsyncResponse& finished) {
      if (finished.get().text == "queued") after->fetch_add(1);
    });
    runtime.reset();
    go.set_value();
    EXPECT_EQ(first.get().text, "first");
    EXPECT_EQ(queued.get().text, "queued");
    // The queued call's callback ran (or runs, on the worker) exactly once.
    for (int i = 0; i < 2000 && after->load() == 0; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(after->load(), 1);
  }
}

TEST_F(AsyncCompletion, ACallbackThatThrowsLeavesTheRuntimeWorking) {
  Runtime runtime(config(1));
  const Model model = runtime.get_model("echo");
  AsyncResponse call = model.prompt_async("one");
  call.on_complete([](AsyncResponse&) { throw std::runtime_error("callback failed"); });
  EXPECT_EQ(call.get().text, "one");
  EXPECT_EQ(model.prompt_async("two").get().text, "two");
  AsyncResponse ended = model.prompt_async("three");
  ended.wait();
  EXPECT_NO_THROW(ended.on_complete([](AsyncResponse&) { throw std::runtime_error("again"); }));
}

// A callback may start the next call: the worker that runs it takes new work without deadlock.
TEST_F(AsyncCompletion, CallbackMayStartAnotherCall) {
  Runtime runtime(config(1));
  const Model model = runtime.get_model("echo");
  std::promise<std::string> second;
  AsyncResponse call = model.prompt_async("first");
  call.on_complete([&](AsyncResponse&) {
    model.prompt_async("second").on_complete(
        [&](AsyncResponse& finished) { second.set_value(finished.get().text); });
  });
  EXPECT_EQ(second.get_future().get(), "second");
}

}  // namespace
}  // namespace llmrt
