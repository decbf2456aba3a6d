// The gateway keeps no thread per call slot: a model call is answered from its completion callback
// on the runtime's worker, where a pool of --max-concurrent threads once waited, one per call.
#include <gtest/gtest.h>

#include <filesystem>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"

namespace llmrt::test::serve_test {
namespace {

std::size_t threads_of_this_process() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

constexpr std::size_t kSlots = 48;

TEST(GatewayThreads, NoThreadIsKeptPerCallSlotAndCallsStillComplete) {
  const std::size_t before = threads_of_this_process();
  ServedGateway gateway([](serve::GatewayConfig& config) { config.max_concurrent = kSlots; });
  const std::size_t serving = threads_of_this_process();
  // The runtime's workers, the serving thread and the I/O threads: a handful, not one per slot.
  EXPECT_LT(serving - before, kSlots / 4) << "threads before: " << before << ", now: " << serving;

  // Concurrent calls are answered (from the workers), and none is left counted afterwards.
  std::vector<std::thread> clients;
  std::vector<int> statuses(8, 0);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    clients.emplace_back([&, i] {
      auto client = gateway.client();
      const std::string body = R"({"model":"echo","messages":[{"role":"user","content":"hi )" +
                               std::to_string(i) + R"("}]})";
      const auto result = client->Post(kChatPath, body, "application/json");
      statuses[i] = result ? result->status : -1;
    });
  }
  for (std::thread& client : clients) client.join();
  for (int status : statuses) EXPECT_EQ(status, 200);
  EXPECT_LT(threads_of_this_process() - before, kSlots / 4);
}

}  // namespace
}  // namespace llmrt::test::serve_test
