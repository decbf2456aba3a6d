// A fixed set of worker threads with a bounded queue, for prompt_async.
#ifndef LLMRT_THREAD_POOL_HPP
#define LLMRT_THREAD_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmrt {

class ThreadPool {
 public:
  ThreadPool(std::size_t threads, std::size_t queue_limit);
  // Runs every task still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; false (and `task` untouched) when the queue already holds queue_limit tasks.
  // A task must not throw.
  bool try_submit(std::function<void()>& task);

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable available_;
  std::deque<std::function<void()>> queue_;
  std::size_t queue_limit_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace llmrt

#endif  // LLMRT_THREAD_POOL_HPP
