#include "call_pool.hpp"

#include <algorithm>

namespace llmrt::serve {

CallPool::CallPool(std::size_t threads) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

CallPool::~CallPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void CallPool::submit(std::function<void()> call) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(call));
  }
  work_.notify_one();
}

std::size_t CallPool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_ + queue_.size();
}

void CallPool::run() {
  for (;;) {
    std::function<void()> call;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      call = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    call();
    std::lock_guard lock(mutex_);
    --busy_;
  }
}

}  // namespace llmrt::serve
