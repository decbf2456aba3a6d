// AdaptiveSpin (core/src/brief_spin.hpp): a spin that runs out makes the next waits skip spinning,
// for longer after each failure, and a success restores it. Counted by how often the condition is
// looked at: a spin looks many times, a skipped one once.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "brief_spin.hpp"

namespace llmrt {
namespace {

constexpr SpinPolicy kPolicy{std::chrono::microseconds(200), false};

// How many times one wait looked at `ready`, which answers `answer`.
int looks(AdaptiveSpin& spin, bool answer) {
  int count = 0;
  spin.wait([&] {
    ++count;
    return answer;
  });
  return count;
}

TEST(AdaptiveSpin, ASpinThatRunsOutIsSkippedForTwiceAsLongEachTime) {
  AdaptiveSpin spin(kPolicy);
  EXPECT_GT(looks(spin, false), 1);  // spun for 200 us, in vain: the next wait skips
  EXPECT_EQ(looks(spin, false), 1);
  EXPECT_GT(looks(spin, false), 1);  // spun again, in vain: the next two skip
  EXPECT_EQ(looks(spin, false), 1);
  EXPECT_EQ(looks(spin, false), 1);
  EXPECT_GT(looks(spin, false), 1);  // and then four
  for (int i = 0; i < 4; ++i) EXPECT_EQ(looks(spin, false), 1) << i;
  EXPECT_GT(looks(spin, false), 1);
}

TEST(AdaptiveSpin, ASuccessRestoresSpinningAtOnce) {
  AdaptiveSpin spin(kPolicy);
  for (int i = 0; i < 3; ++i) looks(spin, false);  // failed twice: skipping two waits now
  int count = 0;
  const bool ready = spin.wait([&] { return ++count >= 1; });  // a skipped wait still looks once
  EXPECT_TRUE(ready);
  EXPECT_EQ(count, 1);
  looks(spin, false);  // the second skipped wait
  // Spinning again; this wait succeeds after a few looks, and resets the back-off.
  count = 0;
  EXPECT_TRUE(spin.wait([&] { return ++count >= 5; }));
  EXPECT_EQ(count, 5);
  EXPECT_GT(looks(spin, false), 1);  // a failure now skips just one wait
  EXPECT_EQ(looks(spin, false), 1);
  EXPECT_GT(looks(spin, false), 1);
}

TEST(AdaptiveSpin, ABackOffStopsGrowingAtSixtyFour) {
  AdaptiveSpin spin(SpinPolicy{std::chrono::microseconds(1), false});
  int spins = 0;
  int skipped_in_a_row = 0;
  int longest_skip = 0;
  for (int i = 0; i < 2000; ++i) {
    if (looks(spin, false) > 1) {
      ++spins;
      skipped_in_a_row = 0;
    } else {
      longest_skip = std::max(longest_skip, ++skipped_in_a_row);
    }
  }
  EXPECT_EQ(longest_skip, 64);
  EXPECT_GT(spins, 2000 / 65 - 1);
}

TEST(AdaptiveSpin, ZeroMeansNeverSpin) {
  AdaptiveSpin spin(SpinPolicy{std::chrono::microseconds(0), false});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(looks(spin, false), 1);
}

}  // namespace
}  // namespace llmrt
