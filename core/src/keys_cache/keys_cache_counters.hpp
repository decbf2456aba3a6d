// How often this process read the keys file, parsed it, and looked at it with stat() while
// inotify could not watch it. Process-wide and only ever increasing: tests compare two readings
// to prove that unchanged files are not read again (docs/keys.md#how-a-change-is-noticed).
// Threading: relaxed atomics, readable from any thread.
#ifndef LLMRT_KEYS_CACHE_KEYS_CACHE_COUNTERS_HPP
#define LLMRT_KEYS_CACHE_KEYS_CACHE_COUNTERS_HPP

#include <atomic>
#include <cstdint>

namespace llmrt {

struct KeysCacheCounters {
  std::atomic<std::uint64_t> file_reads{0};   // every attempt to open the file (present or not)
  std::atomic<std::uint64_t> parses{0};       // every parse of its text
  std::atomic<std::uint64_t> stat_checks{0};  // every stat() check of the fallback
};

KeysCacheCounters& keys_cache_counters();

}  // namespace llmrt

#endif  // LLMRT_KEYS_CACHE_KEYS_CACHE_COUNTERS_HPP
