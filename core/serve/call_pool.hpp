// The threads the gateway's model calls run on, so that its I/O threads never wait for a model.
// Admission bounds the calls in flight to the pool's size, so a call never queues behind another.
#ifndef LLMRT_SERVE_CALL_POOL_HPP
#define LLMRT_SERVE_CALL_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmrt::serve {

// Threading: submit() and busy() from any thread. The destructor waits for running calls: a plugin
// call that never returns keeps it waiting (`llmrt serve` exits without it after --shutdown-grace).
class CallPool {
 public:
  explicit CallPool(std::size_t threads);
  ~CallPool();
  CallPool(const CallPool&) = delete;
  CallPool& operator=(const CallPool&) = delete;

  void submit(std::function<void()> call);
  std::size_t busy() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_CALL_POOL_HPP
