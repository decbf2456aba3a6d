// A bounded busy wait, for the moments when a result or a task is likely to arrive within a few
// microseconds: cheaper than sleeping on a futex and being woken (a system call on each side, and
// a context switch) when it does arrive, and bounded so that it never keeps a core for long.
#ifndef LLMRT_BRIEF_SPIN_HPP
#define LLMRT_BRIEF_SPIN_HPP

#include <sched.h>

#include <chrono>

namespace llmrt {

struct SpinPolicy {
  std::chrono::microseconds limit{0};  // 0: no busy wait
  bool yield = false;                  // sched_yield between checks rather than `pause`
};

// Busy-waits until `ready()` or `policy.limit` has passed; returns ready()'s last answer. `ready`
// must be cheap (a relaxed atomic load): it runs in a tight loop.
template <typename Ready>
bool spin_briefly(Ready&& ready, SpinPolicy policy) {
  if (policy.limit.count() <= 0) return ready();
  const auto deadline = std::chrono::steady_clock::now() + policy.limit;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (policy.yield) sched_yield();
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

// A brief spin that stops trying while it keeps failing: a wait that ran out of spin makes the
// next `skip` waits sleep at once, `skip` doubling (up to 64) with each further failure and reset
// by a success. Where the awaited thing comes within microseconds (an idle machine: a worker
// process answering), nearly every wait is caught spinning; where it does not (cores saturated,
// the other side waiting for one), spinning soon costs almost nothing. Not thread-safe: one per
// waiting thread or per object waited on one call at a time.
class AdaptiveSpin {
 public:
  explicit AdaptiveSpin(SpinPolicy policy) : policy_(policy) {}

  // As spin_briefly(ready, policy), or just ready() while backing off.
  template <typename Ready>
  bool wait(Ready&& ready) {
    if (policy_.limit.count() <= 0) return ready();
    if (skip_ > 0) {
      --skip_;
      return ready();
    }
    if (spin_briefly(ready, policy_)) {
      backoff_ = 1;
      return true;
    }
    skip_ = backoff_;
    backoff_ = backoff_ >= kMaxBackoff ? kMaxBackoff : backoff_ * 2;
    return false;
  }

 private:
  static constexpr unsigned kMaxBackoff = 64;
  SpinPolicy policy_;
  unsigned backoff_ = 1;
  unsigned skip_ = 0;
};

}  // namespace llmrt

#endif  // LLMRT_BRIEF_SPIN_HPP
