#include "async_state.hpp"

namespace llmrt {

AsyncResponse::AsyncResponse(std::shared_ptr<AsyncState> state) : state_(std::move(state)) {}

std::optional<std::string> AsyncResponse::next_chunk() {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return !state_->chunks.empty() || state_->finished; });
  if (state_->chunks.empty()) return std::nullopt;
  std::string chunk = std::move(state_->chunks.front());
  state_->chunks.pop_front();
  return chunk;
}

Response AsyncResponse::get() {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return state_->finished; });
  if (state_->error) std::rethrow_exception(state_->error);
  return *state_->response;
}

void AsyncResponse::wait() const {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return state_->finished; });
}

bool AsyncResponse::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->finished; });
}

bool AsyncResponse::done() const {
  std::lock_guard lock(state_->mutex);
  return state_->finished;
}

void AsyncResponse::cancel() {
  state_->cancel_requested.store(true, std::memory_order_relaxed);
}

}  // namespace llmrt
