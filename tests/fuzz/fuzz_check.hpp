// What a fuzz target checks besides "no crash": a broken promise aborts, which both libFuzzer and
// the replay driver report as a failure, with the message.
#ifndef LLMRT_TESTS_FUZZ_CHECK_HPP
#define LLMRT_TESTS_FUZZ_CHECK_HPP

#include <cstdio>
#include <cstdlib>

#define LLMRT_FUZZ_CHECK(condition, what)                                     \
  do {                                                                        \
    if (!(condition)) {                                                       \
      std::fprintf(stderr, "fuzz check failed: %s (%s)\n", what, #condition); \
      std::abort();                                                           \
    }                                                                         \
  } while (false)

#endif  // LLMRT_TESTS_FUZZ_CHECK_HPP
