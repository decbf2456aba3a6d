#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <unordered_map>

namespace llmrt {
namespace {

// The pool whose worker the current thread is, if any.
thread_local const void* current_pool = nullptr;

}  // namespace

struct ThreadPool::Shared {
  using Clock = std::chrono::steady_clock;

  struct Item {
    std::function<void()> task;
    Lane lane;
    Clock::time_point queued_at;
  };
  struct LaneState {
    std::deque<std::function<void()>> waiting;  // serial lanes: behind the one in ready or running
    bool in_flight = false;                     // serial lanes: one task is in ready or running
    LaneLoad load;
  };

  Shared(std::size_t limit, SpinPolicy spin, WakePolicy wake)
      : queue_limit(limit),
        idle_spin(spin),
        active_workers(wake.active_workers > 0
                           ? wake.active_workers
                           : std::max<std::size_t>(1, std::thread::hardware_concurrency())),
        starvation_delay(wake.starvation_delay) {}

  // Called with `mutex` held when a task of `lane` has finished.
  void finished(const Lane& lane) {
    --running;
    if (lane.id == nullptr) return;
    const auto it = lanes.find(lane.id);
    LaneState& state = it->second;
    --state.load.running;
    if (lane.serial) {
      if (!state.waiting.empty()) {
        push_ready({std::move(state.waiting.front()), lane, Clock::now()});
        state.waiting.pop_front();
        wake_for_ready();
      } else {
        state.in_flight = false;
      }
    }
    if (!state.in_flight && state.load.queued == 0 && state.load.running == 0) lanes.erase(it);
  }

  // Called with `mutex` held.
  void push_ready(Item item) {
    ready.push_back(std::move(item));
    ready_size.store(ready.size(), std::memory_order_relaxed);
  }
  Item pop_ready() {
    Item item = std::move(ready.front());
    ready.pop_front();
    ready_size.store(ready.size(), std::memory_order_relaxed);
    return item;
  }
  // Workers not asleep, or woken and about to run: spinning, running a task, between two tasks.
  std::size_t awake() const {
    return threads - sleeping - (watcher_asleep && !watcher_told_to_take ? 1 : 0) + wake_tokens;
  }

  // Called with `mutex` held, after a task joined `ready`. A spinning worker takes a task without
  // being woken; beyond what the spinner will take, a sleeping worker is woken only while fewer
  // than `active_workers` are awake. Otherwise the task waits for an awake worker to be done, and
  // the watcher makes sure it does not wait past `starvation_delay`.
  void wake_for_ready() {
    if (ready.size() <= spinning) return;
    if (awake() < active_workers) {
      if (wake_one_sleeper()) return;
      if (watcher_asleep && !watcher_told_to_take) {
        watcher_told_to_take = true;
        watch.notify_one();
        return;
      }
    }
    last_deferred = ready.back().queued_at;
    if (watcher_asleep && !watcher_polling) {
      watcher_polling = true;  // it times the queue from now on, while tasks keep being deferred
      watch.notify_one();
    }
  }

  // Called with `mutex` held: wakes one worker sleeping on `available`, if any is left to wake.
  bool wake_one_sleeper() {
    if (sleeping <= wake_tokens) return false;
    ++wake_tokens;
    available.notify_one();
    return true;
  }

  // Called with `mutex` held: whether the oldest queued task has waited `starvation_delay`.
  bool starving(Clock::time_point now) const {
    return !ready.empty() && now - ready.front().queued_at >= starvation_delay;
  }

  // Called with `mutex` held by a worker that has just taken a task: if the tasks behind it have
  // waited too long (the awake workers are blocked), another sleeping worker is woken for them;
  // each worker woken this way does the same, until no queued task is starving.
  void rescue_starving() {
    if (!ready.empty() && starving(Clock::now())) wake_one_sleeper();
  }

  std::mutex mutex;
  std::condition_variable available;  // a wake token was given, or stopping
  std::condition_variable watch;      // the watcher's: told to take a task, to time, or stopping
  std::condition_variable changed;    // a task finished (for shutdown)
  std::deque<Item> ready;
  std::unordered_map<const void*, LaneState> lanes;
  std::size_t queued = 0;  // ready plus every lane's waiting
  std::size_t running = 0;
  std::size_t queue_limit;
  const SpinPolicy idle_spin;
  // Written under `mutex`; atomic so that the spinning worker can read it without the lock.
  std::atomic<bool> stopping{false};
  // Workers busy-waiting for a task before they sleep; at most one at a time, so that idle workers
  // never take more than one core from the threads doing the work.
  std::size_t spinning = 0;
  std::atomic<std::size_t> ready_size{0};  // ready.size(), for the spinner to read without the lock

  const std::size_t active_workers;
  const std::chrono::microseconds starvation_delay;
  std::size_t threads = 0;      // workers in work()
  std::size_t sleeping = 0;     // workers waiting on `available`
  std::size_t wake_tokens = 0;  // of those, how many were woken and have not yet woken up
  // The watcher: one sleeping worker waiting on `watch`. While calls run and tasks may be queued
  // (`watcher_polling`), it sleeps only until the oldest queued task would start to starve.
  bool watcher_asleep = false;
  bool watcher_polling = false;
  bool watcher_told_to_take = false;  // woken because fewer than active_workers are awake
  bool watcher_wanted = false;        // the watcher left: the next worker woken or idle watches
  Clock::time_point last_deferred;    // when a task last waited for an awake worker
};

ThreadPool::ThreadPool(std::size_t threads, std::size_t queue_limit, SpinPolicy idle_spin,
                       WakePolicy wake)
    : shared_(std::make_shared<Shared>(queue_limit, idle_spin, wake)), thread_count_(threads) {}

void ThreadPool::start_workers_once() {
  if (started_.load(std::memory_order_acquire)) return;
  std::lock_guard once(shutdown_mutex_);
  if (started_.load(std::memory_order_relaxed) || shared_->stopping) return;
  workers_.reserve(thread_count_);
  try {
    for (std::size_t i = 0; i < thread_count_; ++i) {
      workers_.emplace_back([shared = shared_] { work(shared); });
    }
  } catch (...) {
    if (workers_.empty()) throw;  // with at least one worker every task still runs
  }
  started_.store(true, std::memory_order_release);
}

ThreadPool::~ThreadPool() {
  shutdown();
}

ThreadPool::Submitted ThreadPool::try_submit(std::function<void()>& task, Lane lane) {
  start_workers_once();
  Shared& s = *shared_;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping) return Submitted::stopping;
    if (s.queued >= s.queue_limit) return Submitted::full;
    ++s.queued;
    if (lane.id == nullptr) {
      s.push_ready({std::move(task), lane, Shared::Clock::now()});
    } else {
      Shared::LaneState& state = s.lanes[lane.id];
      ++state.load.queued;
      if (lane.serial && state.in_flight) {
        state.waiting.push_back(std::move(task));
        return Submitted::accepted;  // it moves to ready when the one ahead of it finishes
      }
      state.in_flight = lane.serial;
      s.push_ready({std::move(task), lane, Shared::Clock::now()});
    }
    s.wake_for_ready();
  }
  return Submitted::accepted;
}

void ThreadPool::work(const std::shared_ptr<Shared>& shared) {
  Shared& s = *shared;
  current_pool = &s;
  std::unique_lock lock(s.mutex);
  ++s.threads;
  for (;;) {
    if (s.ready.empty() && !s.stopping && s.spinning == 0 && s.idle_spin.limit.count() > 0) {
      // A task often follows the last one within microseconds (a caller waiting on a result
      // submits its next call); taking it this way costs neither side a system call.
      ++s.spinning;
      lock.unlock();
      spin_briefly(
          [&] {
            return s.ready_size.load(std::memory_order_relaxed) != 0 ||
                   s.stopping.load(std::memory_order_relaxed);
          },
          s.idle_spin);
      lock.lock();
      --s.spinning;
    }
    if (s.ready.empty()) {
      if (s.stopping) break;  // nothing left this worker could run
      if (s.watcher_asleep) {
        sleep_until_woken(s, lock);
      } else {
        watch_queue(s, lock);
      }
      continue;
    }
    Shared::Item item = s.pop_ready();
    --s.queued;
    ++s.running;
    if (item.lane.id != nullptr) {
      LaneLoad& lane_load = s.lanes[item.lane.id].load;
      --lane_load.queued;
      ++lane_load.running;
    }
    s.rescue_starving();
    lock.unlock();
    item.task();
    // Destroyed before the task counts as finished, unlocked: it may own the last reference to the
    // Runtime, whose destruction calls shutdown() from this very thread.
    item.task = nullptr;
    lock.lock();
    s.finished(item.lane);
    s.changed.notify_all();
  }
  --s.threads;
}

void ThreadPool::sleep_until_woken(Shared& s, std::unique_lock<std::mutex>& lock) {
  ++s.sleeping;
  s.available.wait(lock, [&] { return s.stopping || s.wake_tokens > 0; });
  if (s.wake_tokens > 0) --s.wake_tokens;
  --s.sleeping;
  // Woken to watch in place of a watcher that left to run a task: watch before taking anything,
  // or the queue could be left with nobody timing it while every awake worker is blocked.
  if (s.watcher_wanted && !s.watcher_asleep && !s.stopping) watch_queue(s, lock);
}

void ThreadPool::watch_queue(Shared& s, std::unique_lock<std::mutex>& lock) {
  s.watcher_wanted = false;
  s.watcher_asleep = true;
  for (;;) {
    if (s.stopping) break;
    if (s.watcher_told_to_take && !s.ready.empty()) break;
    s.watcher_told_to_take = false;
    if (s.starving(Shared::Clock::now())) break;
    if (!s.ready.empty()) {
      s.watch.wait_until(lock, s.ready.front().queued_at + s.starvation_delay);
    } else if (s.watcher_polling && s.running > 0 &&
               Shared::Clock::now() - s.last_deferred < 16 * s.starvation_delay) {
      // Tasks were deferred lately, so more may be queued without a wake-up: look again after the
      // delay. Polling stops soon after the deferrals do (a long call alone costs no wake-ups).
      s.watch.wait_for(lock, s.starvation_delay);
    } else {
      s.watcher_polling = false;
      s.watch.wait(lock);
    }
  }
  s.watcher_asleep = false;
  s.watcher_polling = false;
  s.watcher_told_to_take = false;
  // Off to run a task: a sleeping worker is woken to watch in its place (or, if none sleeps, the
  // next worker to fall idle watches), or a queue whose awake workers are all blocked would have
  // nobody timing it.
  if (!s.stopping) {
    s.watcher_wanted = true;
    s.wake_one_sleeper();
  }
}

void ThreadPool::shutdown() {
  Shared& s = *shared_;
  const bool on_own_worker = current_pool == &s;
  std::unique_lock once(shutdown_mutex_, std::defer_lock);
  if (on_own_worker) {
    // Another thread is shutting the pool down, and will join this worker when its task returns.
    if (!once.try_lock()) return;
  } else {
    once.lock();
  }
  if (workers_.empty()) {
    // Never started (or already shut down): take no more tasks, and there is nothing to join.
    std::lock_guard lock(s.mutex);
    s.stopping = true;
    return;
  }
  const std::thread::id self = std::this_thread::get_id();
  const auto own = std::find_if(workers_.begin(), workers_.end(),
                                [&](const std::thread& worker) { return worker.get_id() == self; });
  {
    std::unique_lock lock(s.mutex);
    s.stopping = true;
    s.available.notify_all();
    s.watch.notify_all();
    if (own != workers_.end() && workers_.size() > 1) {
      // The calling task counts as running; tasks behind it on its own serial lane cannot start
      // before it returns, so they are not waited for (this worker runs them afterwards). With no
      // other worker, nothing could run meanwhile: this worker runs every queued task afterwards.
      s.changed.wait(lock, [&] {
        std::size_t behind_own_lane = 0;
        for (const auto& [id, lane] : s.lanes) {
          if (lane.load.running > 0) behind_own_lane += lane.waiting.size();
        }
        return s.running == 1 && s.queued == behind_own_lane;
      });
    }
  }
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    if (it == own) {
      it->detach();  // never join oneself; it holds `shared_` and exits when the queue is empty
    } else {
      it->join();
    }
  }
  workers_.clear();
}

SpinPolicy ThreadPool::idle_spin() const {
  return shared_->idle_spin;
}

ThreadPool::LaneLoad ThreadPool::load(const void* lane_id) const {
  std::lock_guard lock(shared_->mutex);
  const auto it = shared_->lanes.find(lane_id);
  return it == shared_->lanes.end() ? LaneLoad{} : it->second.load;
}

}  // namespace llmrt
