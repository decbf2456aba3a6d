// A fixed set of worker threads with a bounded queue, for prompt_async, and one lane per model.
//
// A lane names the model a task calls. Tasks of a serial lane (a model that is not reentrant) run
// one at a time and in order, and such a lane occupies at most one worker and one place in the
// ready queue: the next task of that lane joins the back of the queue only when the previous one
// has finished. So a slow model that must be serialized never parks the workers other models
// need. Every lane also counts its queued and running tasks, for per-model admission.
//
// Waking: a queued task wakes a sleeping worker only while fewer than `active_workers` workers are
// awake; otherwise it waits for an awake worker to finish its task and take the next one without
// sleeping. Threads beyond the cores only take turns on them, and each wake-up costs a context
// switch: a gateway with 64 workers on 2 cores served 20% more requests/s this way. Because a
// running task may be blocked rather than busy (a network call, a slow client), one sleeping worker
// watches the queue: a task that has waited `starvation_delay` wakes workers for every task that
// has waited as long, so that up to `threads` tasks still run at once when they need to.
#ifndef LLMRT_THREAD_POOL_HPP
#define LLMRT_THREAD_POOL_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "brief_spin.hpp"

namespace llmrt {

// When a ThreadPool wakes a sleeping worker for a queued task (see above).
struct WakePolicy {
  std::size_t active_workers = 0;  // awake workers before a task waits for one (0: the cores)
  std::chrono::microseconds starvation_delay{1000};  // then workers are woken anyway
};

class ThreadPool {
 public:
  enum class Submitted {
    accepted,
    full,      // queue_limit tasks are already waiting
    stopping,  // shutdown() has begun: the pool takes no more tasks
  };

  struct Lane {
    const void* id;  // eg: the model's binding; nullptr: no lane, no accounting
    bool serial;     // run its tasks one at a time
  };

  struct LaneLoad {
    std::size_t queued = 0;   // accepted, not started
    std::size_t running = 0;  // started, not finished
  };

  // `idle_spin`: how an idle worker waits for a task before it sleeps (at most one at a time).
  // The threads start with the first task, so a process that never submits one (a synchronous
  // `llmrt prompt`) never pays for them.
  ThreadPool(std::size_t threads, std::size_t queue_limit, SpinPolicy idle_spin = {},
             WakePolicy wake = {});
  // shutdown().
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task` on `lane`. Unless accepted, `task` is left untouched. A task must not throw.
  // Thread-safe. Throws std::system_error if the workers cannot be started (first call only).
  Submitted try_submit(std::function<void()>& task, Lane lane = {nullptr, false});

  // Takes no more tasks, lets every queued and running one finish, then joins the workers. Called
  // from one of its own workers (eg: a task dropped the last owner of the pool), it never joins
  // that thread: it waits for every task but the calling one and those queued behind it on its
  // serial lane (or, with a single worker, every queued task), which that worker runs once its
  // current task returns; the worker then exits on its own. Idempotent; thread-safe.
  void shutdown();

  LaneLoad load(const void* lane_id) const;

  SpinPolicy idle_spin() const;

 private:
  struct Shared;
  static void work(const std::shared_ptr<Shared>& shared);
  // Called by an idle worker, with the pool's mutex held: sleeps until given a wake token.
  static void sleep_until_woken(Shared& s, std::unique_lock<std::mutex>& lock);
  // The same for the one idle worker that times the queue: returns when told to take a task,
  // when the oldest queued task has waited `starvation_delay`, or when the pool stops.
  static void watch_queue(Shared& s, std::unique_lock<std::mutex>& lock);
  void start_workers_once();

  std::shared_ptr<Shared> shared_;  // also held by each worker: it outlives the pool if need be
  const std::size_t thread_count_;
  std::mutex shutdown_mutex_;         // also guards starting the workers
  std::atomic<bool> started_{false};  // workers_ was filled (set under shutdown_mutex_)
  std::vector<std::thread> workers_;  // emptied by shutdown()
};

}  // namespace llmrt

#endif  // LLMRT_THREAD_POOL_HPP
