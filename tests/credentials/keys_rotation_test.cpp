// Rotating a key in keys.json while calls are in flight needs no restart: the keys file is read by
// every call that reaches it (nothing is cached), and a call keeps the key it started with. Every
// response carries the old or the new fingerprint, never a mix, and after a rotation only the new.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "credentials_test_support.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

std::string line_for(const std::string& key) {
  return "key-sha256: " + sha256_prefix(key) + "\n";
}

// What a response says about its key: "" if it is consistent (one key, at the start and at the
// end of the call, and the fingerprint the runtime reported), else what is wrong.
std::string inconsistency(const Response& response) {
  const std::string& text = response.text;
  const std::size_t first_end = text.find('\n');
  if (first_end == std::string::npos) return "no first line: " + text;
  const std::string first = text.substr(0, first_end + 1);
  if (!text.ends_with(first)) return "the call saw two keys: " + text;
  if (first != "key-sha256: " + response.key_fingerprint.substr(7) + "\n") {
    return "the plugin saw " + first + " but the runtime reported " + response.key_fingerprint;
  }
  return "";
}

class KeysRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeConfig config = test::isolated_config(dir_.path(), env_);
    // Only the test plugin: these tests need no other, and load nothing they do not call.
    config.plugin_paths = {test::kCredentialsPluginDir / "credentials_check.so"};
    config.async_threads = 4;
    runtime_.emplace(std::move(config));
    keys_.emplace(runtime_->keys_file_path());
  }

  test::TempDir dir_;
  test::FakeEnvironment env_;
  std::optional<Runtime> runtime_;
  std::optional<KeysFile> keys_;
};

TEST_F(KeysRotation, CallsInFlightFinishWithTheKeyTheyStartedWith) {
  const std::string old_key = test::secret("sk-rotate-old-0001");
  const std::string new_key = test::secret("sk-rotate-new-0002");
  keys_->set("cred-check", Key(old_key));
  const Model model = runtime_->get_model("cred-check");

  // Each of these calls stops inside the plugin, after its first chunk, until the key is rotated.
  constexpr int kInFlight = 8;
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0;
  bool rotated = false;
  std::vector<std::optional<Response>> responses(kInFlight);
  std::vector<std::thread> calls;
  for (int i = 0; i < kInFlight; ++i) {
    calls.emplace_back([&, i] {
      bool first = true;
      PromptOptions options;
      options.on_chunk = [&](std::string_view) {
        if (first) {
          first = false;
          std::unique_lock lock(mutex);
          ++started;
          changed.notify_all();
          changed.wait(lock, [&] { return rotated; });
        }
        return true;
      };
      responses[i] = model.prompt("hi", std::move(options));
    });
  }
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return started == kInFlight; });
  }
  keys_->set("cred-check", Key(new_key));  // atomic replace, no restart
  {
    std::lock_guard lock(mutex);
    rotated = true;
  }
  changed.notify_all();
  for (auto& call : calls) call.join();

  for (const auto& response : responses) {
    ASSERT_TRUE(response);
    EXPECT_EQ(inconsistency(*response), "");
    EXPECT_EQ(response->key_fingerprint, "sha256:" + sha256_prefix(old_key));
    EXPECT_EQ(response->key_source, KeySource::keys_file);
  }
  const Response after = model.prompt("hi");
  EXPECT_EQ(inconsistency(after), "");
  EXPECT_EQ(after.key_fingerprint, "sha256:" + sha256_prefix(new_key));
}

TEST_F(KeysRotation, RotatingUnderLoadNeverMixesKeysAndOnlyTheNewOneIsUsedAfterwards) {
  constexpr int kRotations = 20;
  constexpr int kWorkers = 6;
  std::vector<std::string> keys;
  for (int i = 0; i <= kRotations; ++i) {
    keys.push_back(test::secret("sk-rotate-load-" + std::to_string(1000 + i)));
  }
  keys_->set("cred-check", Key(keys[0]));
  const Model model = runtime_->get_model("cred-check");

  // Workers call without pause. Each remembers which rotation was complete before its call began:
  // its key must be that one or a later one, never an earlier one, and never a mix.
  std::atomic<int> completed{0};  // keys[completed] is in the file, for sure
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  const auto fail = [&](std::string what) {
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 10) failures.push_back(std::move(what));
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      while (!stop.load()) {
        const int floor = completed.load();
        Response response;
        if (w % 2 == 0) {
          response = model.prompt("hi");
        } else {
          response = model.prompt_async("hi").get();
        }
        ++calls;
        if (std::string why = inconsistency(response); !why.empty()) fail(why);
        int index = -1;
        for (int k = 0; k <= kRotations; ++k) {
          if (response.key_fingerprint == "sha256:" + sha256_prefix(keys[k])) index = k;
        }
        if (index < floor) {
          fail("a call begun after rotation " + std::to_string(floor) + " used key " +
               std::to_string(index));
        }
      }
    });
  }
  for (int r = 1; r <= kRotations; ++r) {
    std::this_thread::sleep_for(5ms);
    keys_->set("cred-check", Key(keys[r]));
    completed.store(r);
    // Right after the rotation, from this thread: only the new key.
    const Response now = model.prompt("hi");
    EXPECT_EQ(now.key_fingerprint, "sha256:" + sha256_prefix(keys[r])) << "rotation " << r;
  }
  std::this_thread::sleep_for(5ms);
  stop.store(true);
  for (auto& worker : workers) worker.join();

  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_GT(calls.load(), kRotations);
}

}  // namespace
}  // namespace llmrt
