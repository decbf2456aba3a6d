// Asynchronous prompts and streaming callbacks: prompt_async streams chunks as they come, can be
// cancelled while running or before it starts, reports failures through get(), refuses work when
// its queue is full, and stops when a callback says so (or throws). Models stay usable for
// synchronous prompts after their Runtime is gone.
//
// The echo model streams its prompt one word per chunk; its "delay_ms" option pauses after each
// word (watching for cancellation), and its "fail" option makes the call fail with that message.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

// Generous: a cancelled call stops within a few milliseconds; the full call would take 10 s.
constexpr auto kCancelBound = 3s;
constexpr int kSlowWords = 200;  // at 50 ms per word: 10 s unless cancelled

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string words(int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += (i == 0 ? "w" : " w") + std::to_string(i);
  return text;
}

PromptOptions slow_options() {
  PromptOptions options;
  options.options = {{"delay_ms", "50"}};
  return options;
}

// Cancels the calls it was given when the test ends, however it ends, so that the Runtime (which
// waits for running calls) is not held up by a slow prompt. Declare it after the Runtime. It keeps
// its own handles (AsyncResponse copies share their call).
class CancelOnExit {
 public:
  void add(const AsyncResponse& response) { responses_.push_back(response); }
  ~CancelOnExit() {
    for (AsyncResponse& response : responses_) response.cancel();
  }

 private:
  std::vector<AsyncResponse> responses_;
};

struct CallbackError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Async : public ::testing::Test {
 protected:
  test::TempDir temp_;
  test::FakeEnvironment environment_;

  RuntimeConfig config() const { return test::isolated_config(temp_.path(), environment_); }
};

// ---- Streaming results
// ----------------------------------------------------------------------------

using AsyncStreaming = Async;

TEST_F(AsyncStreaming, NextChunkReturnsTheReplyWordByWordThenNothing) {
  Runtime runtime(config());
  AsyncResponse async = runtime.get_model("echo").prompt_async("one two three four");
  std::vector<std::string> chunks;
  while (std::optional<std::string> chunk = async.next_chunk()) chunks.push_back(*chunk);
  EXPECT_EQ(chunks, (std::vector<std::string>{"one ", "two ", "three ", "four"}));
  EXPECT_FALSE(async.next_chunk().has_value()) << "the end stays the end";
  EXPECT_TRUE(async.done());
  const Response response = async.get();
  EXPECT_EQ(response.text, "one two three four");
  EXPECT_EQ(response.chunk_count, 4u);
  EXPECT_EQ(response.model_id, "echo");
  EXPECT_FALSE(response.cancelled);
  EXPECT_EQ(response.key_source, KeySource::none);
}

TEST_F(AsyncStreaming, GetAloneGivesTheFullText) {
  Runtime runtime(config());
  AsyncResponse async = runtime.get_model("echo").prompt_async("never read chunk by chunk");
  async.wait();
  EXPECT_TRUE(async.done());
  EXPECT_TRUE(async.wait_for(0ms));
  const Response response = async.get();
  EXPECT_EQ(response.text, "never read chunk by chunk");
  EXPECT_EQ(response.chunk_count, 5u);
  EXPECT_EQ(async.get().text, response.text) << "get() can be called again";
}

TEST_F(AsyncStreaming, KeyLineArrivesAsTheLastChunk) {
  Runtime runtime(config());
  PromptOptions options;
  options.key = Key("sk-async-key");
  AsyncResponse async = runtime.get_model("echo").prompt_async("hello world", std::move(options));
  std::vector<std::string> chunks;
  while (auto chunk = async.next_chunk()) chunks.push_back(*chunk);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2], "\nkey-sha256: " + sha256_prefix("sk-async-key"));
  const Response response = async.get();
  EXPECT_EQ(response.key_source, KeySource::per_call);
  EXPECT_EQ(response.key_fingerprint, Key("sk-async-key").fingerprint());
}

TEST_F(AsyncStreaming, OnChunkReceivesEveryWordOnAWorkerThread) {
  Runtime runtime(config());
  std::mutex mutex;
  std::vector<std::string> chunks;
  std::vector<std::thread::id> threads;
  PromptOptions options;
  options.on_chunk = [&](std::string_view chunk) {
    std::lock_guard lock(mutex);
    chunks.emplace_back(chunk);
    threads.push_back(std::this_thread::get_id());
    return true;
  };
  AsyncResponse async =
      runtime.get_model("echo").prompt_async("alpha beta gamma", std::move(options));
  EXPECT_FALSE(async.next_chunk().has_value()) << "with on_chunk, chunks go to the callback only";
  const Response response = async.get();
  EXPECT_EQ(response.text, "alpha beta gamma");
  std::lock_guard lock(mutex);
  EXPECT_EQ(chunks, (std::vector<std::string>{"alpha ", "beta ", "gamma"}));
  for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST_F(AsyncStreaming, SyncOnChunkRunsOnTheCallingThreadInOrder) {
  Runtime runtime(config());
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::string> chunks;
  bool other_thread = false;
  PromptOptions options;
  options.on_chunk = [&](std::string_view chunk) {
    if (std::this_thread::get_id() != caller) other_thread = true;
    chunks.emplace_back(chunk);
    return true;
  };
  const Response response = runtime.get_model("echo").prompt("a b c", std::move(options));
  EXPECT_EQ(chunks, (std::vector<std::string>{"a ", "b ", "c"}));
  EXPECT_FALSE(other_thread);
  EXPECT_EQ(response.text, "a b c");
  EXPECT_EQ(response.chunk_count, 3u);
  EXPECT_FALSE(response.cancelled);
}

// ---- Cancellation
// ----------------------------------------------------------------------------------

using AsyncCancellation = Async;

TEST_F(AsyncCancellation, CancelStopsAStreamingCallPromptly) {
  Runtime runtime(config());
  const std::string prompt = words(kSlowWords);
  AsyncResponse async = runtime.get_model("echo").prompt_async(prompt, slow_options());
  CancelOnExit guard;
  guard.add(async);

  const std::optional<std::string> first = async.next_chunk();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "w0 ");
  const auto cancelled_at = std::chrono::steady_clock::now();
  async.cancel();

  ASSERT_TRUE(async.wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(kCancelBound)))
      << "a cancelled call did not end within the bound";
  const Response response = async.get();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, kCancelBound);
  EXPECT_TRUE(response.cancelled);
  EXPECT_LT(response.text.size(), prompt.size());
  EXPECT_TRUE(prompt.starts_with(response.text)) << response.text;
  EXPECT_GE(response.chunk_count, 1u);
  while (async.next_chunk()) {
  }  // the queue drains and ends
}

TEST_F(AsyncCancellation, CancelBeforeItStartsMeansTheCallNeverRuns) {
  RuntimeConfig config = this->config();
  config.async_threads = 1;
  Runtime runtime(std::move(config));
  const Model model = runtime.get_model("echo");

  AsyncResponse running = model.prompt_async(words(kSlowWords), slow_options());
  CancelOnExit guard;
  guard.add(running);
  ASSERT_TRUE(running.next_chunk().has_value());  // the only worker is now busy with it

  std::atomic<int> queued_chunks{0};
  PromptOptions options;
  options.options = {{"fail", "the cancelled call ran"}};  // it would fail if it ever ran
  options.on_chunk = [&](std::string_view) {
    ++queued_chunks;
    return true;
  };
  AsyncResponse queued = model.prompt_async("never runs", std::move(options));
  guard.add(queued);
  EXPECT_FALSE(queued.done());
  queued.cancel();
  running.cancel();

  ASSERT_TRUE(queued.wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(kCancelBound)));
  Response response;
  ASSERT_NO_THROW(response = queued.get()) << "the queued call ran (and failed)";
  EXPECT_TRUE(response.cancelled);
  EXPECT_TRUE(response.text.empty()) << response.text;
  EXPECT_EQ(response.chunk_count, 0u);
  EXPECT_EQ(queued_chunks.load(), 0);
  EXPECT_TRUE(running.get().cancelled);
}

TEST_F(AsyncCancellation, CancelTwiceIsHarmless) {
  Runtime runtime(config());
  AsyncResponse async = runtime.get_model("echo").prompt_async(words(kSlowWords), slow_options());
  CancelOnExit guard;
  guard.add(async);
  ASSERT_TRUE(async.next_chunk().has_value());
  async.cancel();
  async.cancel();
  EXPECT_TRUE(async.get().cancelled);
}

// ---- Callbacks that stop the call -------------------------------------------------------------

using ChunkCallback = Async;

TEST_F(ChunkCallback, ReturningFalseStopsASyncCall) {
  Runtime runtime(config());
  int calls = 0;
  PromptOptions options;
  options.on_chunk = [&](std::string_view) { return ++calls < 2; };
  const Response response = runtime.get_model("echo").prompt("a b c d e f", std::move(options));
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(response.cancelled);
  EXPECT_EQ(response.text, "a b ");
}

TEST_F(ChunkCallback, ReturningFalseStopsAnAsyncCall) {
  Runtime runtime(config());
  std::atomic<int> calls{0};
  PromptOptions options;
  options.on_chunk = [&](std::string_view) { return ++calls < 2; };
  AsyncResponse async = runtime.get_model("echo").prompt_async("a b c d e f", std::move(options));
  const Response response = async.get();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(response.cancelled);
  EXPECT_EQ(response.text, "a b ");
}

TEST_F(ChunkCallback, ReturningFalseStopsASlowCallPromptly) {
  Runtime runtime(config());
  PromptOptions options = slow_options();
  options.on_chunk = [](std::string_view) { return false; };
  const auto start = std::chrono::steady_clock::now();
  const Response response = runtime.get_model("echo").prompt(words(kSlowWords), std::move(options));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kCancelBound);
  EXPECT_TRUE(response.cancelled);
  EXPECT_EQ(response.text, "w0 ");
}

TEST_F(ChunkCallback, ExceptionFromASyncCallbackIsRethrownAndTheRuntimeKeepsWorking) {
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  int calls = 0;
  PromptOptions options;
  options.key = Key("sk-callback");
  options.on_chunk = [&](std::string_view) -> bool {
    ++calls;
    throw CallbackError("the callback gave up");
  };
  EXPECT_THROW((void)model.prompt("a b c d", std::move(options)), CallbackError);
  EXPECT_EQ(calls, 1) << "the call must stop at the first exception";

  PromptOptions next;
  next.key = Key("sk-after");
  const Response response = model.prompt("still working", std::move(next));
  EXPECT_EQ(response.text, "still working\nkey-sha256: " + sha256_prefix("sk-after"));
}

TEST_F(ChunkCallback, ExceptionFromAnAsyncCallbackIsRethrownByGet) {
  RuntimeConfig config = this->config();
  config.async_threads = 1;
  Runtime runtime(std::move(config));
  const Model model = runtime.get_model("echo");
  std::atomic<int> calls{0};
  PromptOptions options;
  options.on_chunk = [&](std::string_view) -> bool {
    ++calls;
    throw CallbackError("the async callback gave up");
  };
  AsyncResponse async = model.prompt_async("a b c d", std::move(options));
  try {
    (void)async.get();
    ADD_FAILURE() << "get() did not rethrow the callback's exception";
  } catch (const CallbackError& error) {
    EXPECT_STREQ(error.what(), "the async callback gave up");
  }
  EXPECT_EQ(calls.load(), 1);
  // The only worker survived it.
  EXPECT_EQ(model.prompt_async("worker alive").get().text, "worker alive");
}

// ---- Errors
// ---------------------------------------------------------------------------------------

using AsyncErrors = Async;

TEST_F(AsyncErrors, PluginFailureComesOutOfGetAsAnLlmrtError) {
  Runtime runtime(config());
  PromptOptions options;
  options.options = {{"fail", "boom"}};
  AsyncResponse async = runtime.get_model("echo").prompt_async("x", std::move(options));
  EXPECT_FALSE(async.next_chunk().has_value());
  try {
    (void)async.get();
    ADD_FAILURE() << "get() did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed);
    EXPECT_TRUE(contains(error.what(), "boom")) << error.what();
  }
  EXPECT_TRUE(async.done());
}

TEST_F(AsyncErrors, BadOptionsAndBadKeysComeOutOfGet) {
  Runtime runtime(config());
  const Model model = runtime.get_model("echo");
  {
    PromptOptions options;
    options.options = {{"delay_ms", "soon"}};
    AsyncResponse async = model.prompt_async("x", std::move(options));
    try {
      (void)async.get();
      ADD_FAILURE() << "get() did not throw";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    }
  }
  {
    PromptOptions options;
    options.key = Key("sk-ASYNCSECRET with space");
    AsyncResponse async = model.prompt_async("x", std::move(options));
    try {
      (void)async.get();
      ADD_FAILURE() << "get() did not throw";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::key_invalid) << error.what();
      EXPECT_FALSE(contains(error.what(), "ASYNCSECRET")) << error.what();
    }
  }
}

TEST_F(AsyncErrors, FullQueueRefusesWithBusy) {
  RuntimeConfig config = this->config();
  config.async_threads = 1;
  config.async_queue_limit = 1;
  Runtime runtime(std::move(config));
  const Model model = runtime.get_model("echo");

  AsyncResponse running = model.prompt_async(words(kSlowWords), slow_options());
  CancelOnExit guard;
  guard.add(running);
  ASSERT_TRUE(running.next_chunk().has_value());  // the worker has taken it: the queue is empty

  AsyncResponse queued = model.prompt_async(words(kSlowWords), slow_options());
  guard.add(queued);
  try {
    (void)model.prompt_async("one too many");
    ADD_FAILURE() << "prompt_async accepted more calls than the queue holds";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::busy) << error.what();
  }

  queued.cancel();
  running.cancel();
  EXPECT_TRUE(running.get().cancelled);
  EXPECT_TRUE(queued.get().cancelled);
  // Room again.
  EXPECT_EQ(model.prompt_async("room again").get().text, "room again");
}

// ---- Lifetimes
// --------------------------------------------------------------------------------------

using AsyncLifetime = Async;

TEST_F(AsyncLifetime, ModelOutlivesItsRuntimeForSyncPrompts) {
  std::optional<Model> shared;
  std::optional<Model> tenant;
  {
    Runtime runtime(config());
    shared = runtime.get_model("echo");
    tenant = runtime.create_model("echo", ModelSettings{.key = Key("sk-tenant")});
  }
  EXPECT_EQ(shared->prompt("after the runtime").text, "after the runtime");
  const Response response = tenant->prompt("tenant after");
  EXPECT_EQ(response.text, "tenant after\nkey-sha256: " + sha256_prefix("sk-tenant"));
  EXPECT_EQ(response.key_source, KeySource::instance);
  EXPECT_EQ(shared->info().id, "echo");
}

TEST_F(AsyncLifetime, PromptAsyncAfterTheRuntimeIsGoneThrowsUsage) {
  std::optional<Model> model;
  {
    Runtime runtime(config());
    model = runtime.get_model("echo");
  }
  try {
    (void)model->prompt_async("too late");
    ADD_FAILURE() << "prompt_async did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::usage);
    EXPECT_TRUE(contains(error.what(), "echo")) << error.what();
  }
}

TEST_F(AsyncLifetime, DestroyingTheRuntimeFinishesQueuedAndRunningCalls) {
  std::vector<AsyncResponse> calls;
  {
    RuntimeConfig config = this->config();
    config.async_threads = 1;
    Runtime runtime(std::move(config));
    const Model model = runtime.get_model("echo");
    for (int i = 0; i < 4; ++i) {
      PromptOptions each;
      each.options = {{"delay_ms", "5"}};
      calls.push_back(model.prompt_async("call " + std::to_string(i) + " a b c", std::move(each)));
    }
  }
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(calls[static_cast<std::size_t>(i)].done());
    const Response response = calls[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(response.text, "call " + std::to_string(i) + " a b c");
    EXPECT_FALSE(response.cancelled);
  }
}

TEST_F(AsyncLifetime, DroppingAnAsyncResponseDoesNotCancelIt) {
  std::atomic<int> chunks{0};
  {
    Runtime runtime(config());
    PromptOptions options;
    options.options = {{"delay_ms", "2"}};
    options.on_chunk = [&](std::string_view) {
      ++chunks;
      return true;
    };
    (void)runtime.get_model("echo").prompt_async("one two three four five", std::move(options));
  }  // the Runtime waits for the call
  EXPECT_EQ(chunks.load(), 5);
}

}  // namespace
}  // namespace llmrt
