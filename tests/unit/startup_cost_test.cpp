// What a short-lived process (a single `llmrt prompt`) must not pay for: the async workers' threads
// when it never calls asynchronously, and OpenSSL's set-up (openssl.cnf, providers, the DRBG:
// ~1.5 ms together, a third of a whole echo prompt) for a key's fingerprint or a conversation id.
// docs/performance.md, "Start-up and lazy loading", has the figures.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace llmrt {
namespace {

// Every allocation OpenSSL makes, counted from before main(): OpenSSL allocates nothing until it is
// first used, and its set-up allocates a great deal, so a count of zero means it was never set up.
std::atomic<long> openssl_allocations{0};

void* counted_malloc(std::size_t size, const char*, int) {
  ++openssl_allocations;
  return std::malloc(size);
}
void* counted_realloc(void* block, std::size_t size, const char*, int) {
  ++openssl_allocations;
  return std::realloc(block, size);
}
void counted_free(void* block, const char*, int) {
  std::free(block);
}

const bool counting_openssl =
    CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) == 1;

std::size_t thread_count() {
  std::size_t threads = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    ++threads;
  }
  return threads;
}

class StartupCost : public ::testing::Test {
 protected:
  RuntimeConfig config() const {
    RuntimeConfig config = test::isolated_config(temp_.path(), environment_);
    config.isolation.mode =
        IsolationMode::in_process;  // worker processes have threads of their own
    config.async_threads = 4;
    return config;
  }

  test::TempDir temp_;
  test::FakeEnvironment environment_;
};

TEST_F(StartupCost, ASynchronousCallStartsNoWorkerThreads) {
  const std::size_t before = thread_count();
  Runtime runtime(config());
  PromptOptions options;
  options.key = Key("sk-sync");
  EXPECT_EQ(runtime.get_model("echo").prompt("hello", std::move(options)).text.rfind("hello", 0),
            0u);
  EXPECT_EQ(thread_count(), before) << "a Runtime that only called synchronously started threads";

  EXPECT_EQ(runtime.get_model("echo").prompt_async("later").get().text, "later");
  EXPECT_GE(thread_count(), before + 1) << "the first asynchronous call started no worker";
}

TEST_F(StartupCost, ARuntimeDestroyedBeforeAnyAsyncCallStopsCleanly) {
  for (int i = 0; i < 20; ++i) {
    Runtime runtime(config());
    EXPECT_EQ(runtime.get_model("echo").prompt("x").text, "x");
  }
}

TEST_F(StartupCost, AKeyedPromptInAConversationLeavesOpenSslUnset) {
  ASSERT_TRUE(counting_openssl) << "OpenSSL allocated before main(); this test cannot tell";
  const long before = openssl_allocations.load();
  RuntimeConfig only_echo = config();
  // The provider plugins link libssl, whose constructor sets OpenSSL up when they are loaded.
  only_echo.plugin_paths = {test::kBundledPluginDir / "echo.so"};
  Runtime runtime(std::move(only_echo));
  Conversation conversation = runtime.get_model("echo").conversation();
  PromptOptions options;
  options.key = Key("sk-fingerprinted");
  const Response response = conversation.prompt("hello", std::move(options));
  // The echo plugin reports the SHA-256 of the key it was given; the host fingerprints it too.
  const std::string fingerprint = Key("sk-fingerprinted").fingerprint();
  ASSERT_EQ(fingerprint.rfind("sha256:", 0), 0u);
  EXPECT_NE(response.text.find("key-sha256: " + fingerprint.substr(7)), std::string::npos)
      << response.text;
  EXPECT_EQ(conversation.id().size(), 32u);
  EXPECT_EQ(openssl_allocations.load(), before)
      << "OpenSSL was set up (openssl.cnf, providers or its DRBG) for a fingerprint or an id";
}

}  // namespace
}  // namespace llmrt
