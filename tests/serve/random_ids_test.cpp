// Request and completion ids are drawn from blocks of OpenSSL random bytes, one block per thread:
// ids stay 24 hex digits after their prefix and never repeat, across threads and across the
// refill of a block.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "random_ids.hpp"

namespace llmrt::serve {
namespace {

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(RandomIds, HavePrefixAnd24HexDigitsAndNeverRepeatAcrossThreadsAndRefills) {
  constexpr int kThreads = 4;
  constexpr int kIdsPerThread = 5000;  // several refills of each thread's block
  std::mutex mutex;
  std::set<std::string> seen;
  int malformed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> ids;
      for (int i = 0; i < kIdsPerThread; ++i) ids.push_back(random_id("req_"));
      std::lock_guard lock(mutex);
      for (const std::string& id : ids) {
        if (id.size() != 4 + 24 || id.rfind("req_", 0) != 0 || !is_lower_hex(id.substr(4))) {
          ++malformed;
        }
        seen.insert(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(malformed, 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kIdsPerThread));
}

}  // namespace
}  // namespace llmrt::serve
