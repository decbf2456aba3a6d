// What an AsyncResponse and the worker running its call share.
#ifndef LLMRT_ASYNC_STATE_HPP
#define LLMRT_ASYNC_STATE_HPP

#include <llmrt/response.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

namespace llmrt {

struct AsyncState {
  std::atomic<bool> cancel_requested{false};

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> chunks;  // filled only when the caller gave no on_chunk
  bool finished = false;
  std::optional<Response> response;
  std::exception_ptr error;

  void push_chunk(std::string_view chunk) {
    {
      std::lock_guard lock(mutex);
      chunks.emplace_back(chunk);
    }
    changed.notify_all();
  }
  void finish(std::optional<Response> result, std::exception_ptr failure) {
    {
      std::lock_guard lock(mutex);
      response = std::move(result);
      error = std::move(failure);
      finished = true;
    }
    changed.notify_all();
  }
};

}  // namespace llmrt

#endif  // LLMRT_ASYNC_STATE_HPP
