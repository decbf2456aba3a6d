// A brief busy wait before sleeping: a short call's result (or a new task) usually arrives within
// microseconds, far less than a futex sleep and wake-up costs.
#ifndef LLMRT_SPIN_PAUSE_HPP
#define LLMRT_SPIN_PAUSE_HPP

namespace llmrt {

// About 5-20 µs of pause instructions, depending on the CPU: long enough to cover the hop of a fast
// call, short enough not to matter on a loaded machine.
inline constexpr int kSpinRounds = 256;

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace llmrt

#endif  // LLMRT_SPIN_PAUSE_HPP
