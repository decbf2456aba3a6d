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

}  // namespace llmrt

#endif  // LLMRT_BRIEF_SPIN_HPP
