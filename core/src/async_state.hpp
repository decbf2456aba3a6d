// What an AsyncResponse and the worker running its call share: one allocation per call, holding
// both the call's inputs and its outcome.
#ifndef LLMRT_ASYNC_STATE_HPP
#define LLMRT_ASYNC_STATE_HPP

#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "brief_spin.hpp"

namespace llmrt {

class ModelInstance;

struct AsyncState {
  std::atomic<bool> cancel_requested{false};
  // Set (release) once `response`/`error` are stored; they never change afterwards, so a reader
  // that saw it (acquire) reads them without the mutex.
  std::atomic<bool> finished{false};

  std::mutex mutex;
  std::condition_variable changed;
  // Filled only when the caller gave no on_chunk; made at the first chunk (an empty std::deque
  // allocates).
  std::optional<std::deque<std::string>> chunks;
  std::optional<Response> response;
  std::exception_ptr error;
  bool completion_set = false;                      // on_complete was called (at most once)
  std::function<void(AsyncResponse&)> on_complete;  // until it runs

  // The call's inputs, owned by the worker while it runs; dropped (the key wiped) when it ends.
  std::shared_ptr<ModelInstance> instance;
  std::string text;
  PromptOptions options;
  SpinPolicy wait_spin;  // how get()/wait() wait for the outcome before they sleep

  void push_chunk(std::string_view chunk) {
    {
      std::lock_guard lock(mutex);
      if (!chunks) chunks.emplace();
      chunks->emplace_back(chunk);
    }
    changed.notify_all();
  }

  // Stores the outcome, wakes every waiter, then runs the completion callback (if one was set) on
  // this thread, with no lock held.
  static void finish(const std::shared_ptr<AsyncState>& self, std::optional<Response> result,
                     std::exception_ptr failure);

  // Sleeps on `changed` until `finished`.
  void wait_finished();
};

}  // namespace llmrt

#endif  // LLMRT_ASYNC_STATE_HPP
