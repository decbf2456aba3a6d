#include <llmrt/error.hpp>

#include "async_state.hpp"

namespace llmrt {

void AsyncState::finish(const std::shared_ptr<AsyncState>& self, std::optional<Response> result,
                        std::exception_ptr failure) {
  std::function<void(AsyncResponse&)> callback;
  {
    std::lock_guard lock(self->mutex);
    self->response = std::move(result);
    self->error = std::move(failure);
    self->finished.store(true, std::memory_order_release);
    callback = std::move(self->on_complete);
  }
  self->changed.notify_all();  // no system call when nobody sleeps on it
  if (!callback) return;
  AsyncResponse handle(self);
  try {
    callback(handle);
  } catch (...) {
    // Documented: it has nowhere to go on a worker; the call's outcome is unchanged.
  }
}

// A brief busy wait first: a fast model's result is often there within microseconds, and taking it
// that way spares the worker a futex wake and the caller a context switch. See docs/performance.md.
void AsyncState::wait_finished() {
  if (spin_briefly([&] { return finished.load(std::memory_order_acquire); }, wait_spin)) return;
  std::unique_lock lock(mutex);
  changed.wait(lock, [&] { return finished.load(std::memory_order_relaxed); });
}

AsyncResponse::AsyncResponse(std::shared_ptr<AsyncState> state) : state_(std::move(state)) {}

std::optional<std::string> AsyncResponse::next_chunk() {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] {
    return (state_->chunks && !state_->chunks->empty()) ||
           state_->finished.load(std::memory_order_relaxed);
  });
  if (!state_->chunks || state_->chunks->empty()) return std::nullopt;
  std::string chunk = std::move(state_->chunks->front());
  state_->chunks->pop_front();
  return chunk;
}

Response AsyncResponse::get() {
  if (!state_->finished.load(std::memory_order_acquire)) state_->wait_finished();
  if (state_->error) std::rethrow_exception(state_->error);
  return *state_->response;
}

void AsyncResponse::wait() const {
  if (!state_->finished.load(std::memory_order_acquire)) state_->wait_finished();
}

bool AsyncResponse::wait_for(std::chrono::milliseconds timeout) const {
  if (state_->finished.load(std::memory_order_acquire)) return true;
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout,
                                  [&] { return state_->finished.load(std::memory_order_relaxed); });
}

bool AsyncResponse::done() const {
  return state_->finished.load(std::memory_order_acquire);
}

void AsyncResponse::cancel() {
  state_->cancel_requested.store(true, std::memory_order_relaxed);
}

void AsyncResponse::on_complete(std::function<void(AsyncResponse&)> callback) {
  if (!callback) throw Error(ErrorCode::usage, "on_complete needs a callback");
  {
    std::lock_guard lock(state_->mutex);
    if (state_->completion_set) {
      throw Error(ErrorCode::usage, "on_complete was already set for this call; it takes one");
    }
    state_->completion_set = true;
    if (!state_->finished.load(std::memory_order_relaxed)) {
      state_->on_complete = std::move(callback);
      return;
    }
  }
  try {
    callback(*this);
  } catch (...) {
    // As on a worker: the rule does not depend on who won the race.
  }
}

}  // namespace llmrt
