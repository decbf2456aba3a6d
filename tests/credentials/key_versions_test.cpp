// Versions of a stored key (docs/keys.md#key-versions): the plain keys file stays as it is until a
// version is added; each call chooses one version by weight (seeded here, so the counts are
// reproducible); a conversation sticks to its first version; promotion under load never makes a
// call fail or mix keys; a non-current version the provider rejects falls back to current, once,
// and is never chosen again by this process. The test plugin "cred-check" echoes the fingerprint
// of the key it got and rejects keys starting with "sk-reject".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <llmrt/llmrt.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "credentials_test_support.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

std::string fingerprint_of(const std::string& key) {
  return "sha256:" + sha256_prefix(key);
}

// "" when the plugin saw exactly the key the runtime reported, at the start and end of the call.
std::string inconsistency(const Response& response) {
  const std::string first = "key-sha256: " + response.key_fingerprint.substr(7) + "\n";
  if (!response.text.starts_with(first) || !response.text.ends_with(first)) {
    return "the plugin saw " + response.text + " but the runtime reported " +
           response.key_fingerprint;
  }
  return "";
}

class KeyVersions : public ::testing::Test {
 protected:
  void SetUp() override { start(42); }

  void start(std::optional<std::uint64_t> seed) {
    runtime_.reset();
    {
      std::lock_guard lock(log_mutex_);
      error_lines_.clear();
    }
    RuntimeConfig config = test::isolated_config(dir_.path(), env_);
    config.plugin_paths = {test::kCredentialsPluginDir / "credentials_check.so"};
    config.async_threads = 4;
    config.key_version_seed = seed;
    config.error_log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex_);
      error_lines_.emplace_back(line);
      test::MessageLog::instance().add_message(std::string(line));
    };
    runtime_.emplace(std::move(config));
    keys_.emplace(runtime_->keys_file_path());
  }

  std::vector<std::string> error_lines() {
    std::lock_guard lock(log_mutex_);
    return error_lines_;
  }

  test::TempDir dir_;
  test::FakeEnvironment env_;
  std::optional<Runtime> runtime_;
  std::optional<KeysFile> keys_;
  std::mutex log_mutex_;
  std::vector<std::string> error_lines_;
};

TEST_F(KeyVersions, PlainKeysFileIsUntouchedByReadsAndRewrittenOnlyWhenAVersionIsAdded) {
  const std::string key = test::secret("sk-plain-old-0001");
  const std::string text = "{\n  \"// Note\": \"mine\",\n  \"cred-check\": \"" + key +
                           "\",\n  \"other\": \"x-1234\"\n}\n";
  std::filesystem::create_directories(dir_.path());
  test::write_file(keys_->path(), text);
  struct stat before {};
  ASSERT_EQ(::stat(keys_->path().c_str(), &before), 0);

  const Model model = runtime_->get_model("cred-check");
  const Response response = model.prompt("hi");
  EXPECT_EQ(response.key_fingerprint, fingerprint_of(key));
  EXPECT_EQ(response.key_version, "current");
  const std::vector<StoredKeyVersion> versions = keys_->versions("cred-check");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].label, "current");
  EXPECT_FALSE(versions[0].weight);
  EXPECT_EQ(keys_->get("cred-check")->reveal(), key);
  EXPECT_EQ(keys_->names(), (std::vector<std::string>{"cred-check", "other"}));

  struct stat after {};
  ASSERT_EQ(::stat(keys_->path().c_str(), &after), 0);
  EXPECT_EQ(test::read_file(keys_->path()), text);
  EXPECT_EQ(after.st_ino, before.st_ino);  // never replaced
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

  // Adding a version rewrites the name in the versioned form, keeps everything else, and 0600.
  const std::string pending = test::secret("sk-plain-new-0002");
  keys_->set_version("cred-check", "pending", Key(pending), 10);
  const std::vector<StoredKeyVersion> now = keys_->versions("cred-check");
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].label, "current");
  EXPECT_EQ(now[0].key.reveal(), key);
  EXPECT_EQ(now[1].label, "pending");
  EXPECT_EQ(now[1].weight, 10u);
  EXPECT_FALSE(now[1].added.empty());
  EXPECT_EQ(keys_->get("other")->reveal(), "x-1234");
  EXPECT_EQ(keys_->get("cred-check")->reveal(), key);  // get() is the current version
  struct stat rewritten {};
  ASSERT_EQ(::stat(keys_->path().c_str(), &rewritten), 0);
  EXPECT_EQ(rewritten.st_mode & 0777, 0600u);
  EXPECT_NE(test::read_file(keys_->path()).find("\"// Note\": \"mine\""), std::string::npos);
}

TEST_F(KeyVersions, MalformedVersionsAreRefusedAndTheFileIsLeftUnchanged) {
  std::filesystem::create_directories(dir_.path());
  const std::string key = test::secret("sk-malformed-0003");
  for (const std::string& value :
       {R"({"versions": [{"label": "pending", "key": ")" + key + R"("}]})",
        R"({"versions": [{"label": "current", "key": ")" + key +
            R"("}, {"label": "current", "key": "x-2222"}]})",
        R"({"versions": [{"label": "current", "key": ")" + key + R"(", "weight": -1}]})",
        R"({"versions": [{"label": "Current!", "key": ")" + key + R"("}]})"}) {
    const std::string text = "{\"cred-check\": " + value + "}\n";
    test::write_file(keys_->path(), text);
    const Error error = test::expect_error([&] { keys_->versions("cred-check"); });
    EXPECT_EQ(error.code(), ErrorCode::keys_file) << error.what();
    test::expect_error([&] { keys_->set_version("cred-check", "x", Key("x-3333"), 1); });
    EXPECT_EQ(test::read_file(keys_->path()), text);
  }
}

TEST_F(KeyVersions, TenThousandChoicesWithWeights90And10LandWithinBounds) {
  const std::string current = test::secret("sk-weights-current-01");
  const std::string pending = test::secret("sk-weights-pending-02");
  keys_->set("cred-check", Key(current));
  keys_->set_weight("cred-check", "current", 90);
  keys_->set_version("cred-check", "pending", Key(pending), 10);
  const Model model = runtime_->get_model("cred-check");
  std::map<std::string, int> counts;
  for (int i = 0; i < 10000; ++i) {
    const Response response = model.prompt("hi");
    ++counts[response.key_version];
    ASSERT_EQ(response.key_fingerprint,
              fingerprint_of(response.key_version == "pending" ? pending : current));
    ASSERT_EQ(inconsistency(response), "");
  }
  // Binomial(10000, 0.1): mean 1000, standard deviation 30; 5 deviations either side.
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GE(counts["pending"], 850);
  EXPECT_LE(counts["pending"], 1150);
  EXPECT_EQ(counts["pending"] + counts["current"], 10000);
}

TEST_F(KeyVersions, TheSameSeedGivesTheSameChoices) {
  keys_->set("cred-check", Key(test::secret("sk-seed-current-01")));
  keys_->set_version("cred-check", "pending", Key(test::secret("sk-seed-pending-02")), 50);
  const auto run = [&] {
    std::string labels;
    const Model model = runtime_->get_model("cred-check");
    for (int i = 0; i < 200; ++i) labels += model.prompt("hi").key_version[0];
    return labels;
  };
  const std::string first = run();
  start(42);
  EXPECT_EQ(run(), first);
  EXPECT_NE(first.find('c'), std::string::npos);
  EXPECT_NE(first.find('p'), std::string::npos);
}

TEST_F(KeyVersions, AConversationSticksToOneVersionAndAPerCallKeyStillWins) {
  const std::string current = test::secret("sk-sticky-current-01");
  const std::string pending = test::secret("sk-sticky-pending-02");
  keys_->set("cred-check", Key(current));
  keys_->set_version("cred-check", "pending", Key(pending), 50);
  const Model model = runtime_->get_model("cred-check");
  std::set<std::string> first_versions;
  for (int c = 0; c < 20; ++c) {
    Conversation conversation = model.conversation();
    const std::string first = conversation.prompt("turn 0").key_version;
    first_versions.insert(first);
    for (int turn = 1; turn < 6; ++turn) {
      const Response response =
          turn % 2 == 0 ? conversation.prompt("turn") : conversation.prompt_async("turn").get();
      EXPECT_EQ(response.key_version, first) << "conversation " << c << " turn " << turn;
    }
  }
  // With 50/50 weights both versions start conversations: the stickiness is not an accident.
  EXPECT_EQ(first_versions, (std::set<std::string>{"current", "pending"}));

  const std::string explicit_key = test::secret("sk-sticky-explicit-03");
  Conversation conversation = model.conversation();
  conversation.prompt("hi");
  PromptOptions options;
  options.key = Key(explicit_key);
  const Response response = conversation.prompt("hi", std::move(options));
  EXPECT_EQ(response.key_source, KeySource::per_call);
  EXPECT_EQ(response.key_fingerprint, fingerprint_of(explicit_key));
  EXPECT_EQ(response.key_version, "");
}

TEST_F(KeyVersions, AStoredKeyNamedPerCallChoosesAmongItsVersionsToo) {
  const std::string current = test::secret("sk-named-current-01");
  const std::string pending = test::secret("sk-named-pending-02");
  keys_->set("tenant-a", Key(current));
  keys_->set_version("tenant-a", "pending", Key(pending), 100);
  keys_->set_weight("tenant-a", "current", 0);
  const Model model = runtime_->get_model("cred-check");
  PromptOptions options;
  options.key_name = "tenant-a";
  const Response response = model.prompt("hi", std::move(options));
  EXPECT_EQ(response.key_source, KeySource::stored_name);
  EXPECT_EQ(response.key_version, "pending");
  EXPECT_EQ(response.key_fingerprint, fingerprint_of(pending));
  // Sticking to a version the caller names (the gateway's sticky sessions do this).
  PromptOptions pinned;
  pinned.key_name = "tenant-a";
  pinned.key_version = "current";
  EXPECT_EQ(model.prompt("hi", std::move(pinned)).key_fingerprint, fingerprint_of(current));
}

TEST_F(KeyVersions, PromotionWhile16ThreadsPromptNeverFailsNorMixesVersions) {
  const std::string old_key = test::secret("sk-promote-old-0001");
  const std::string new_key = test::secret("sk-promote-new-0002");
  keys_->set("cred-check", Key(old_key));
  keys_->set_version("cred-check", "pending", Key(new_key), 50);
  const Model model = runtime_->get_model("cred-check");

  std::atomic<int> promoted{0};  // 1 once the promotion is in the file
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  const auto fail = [&](std::string what) {
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 10) failures.push_back(std::move(what));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const bool after = promoted.load() == 1;
        try {
          const Response response = model.prompt("hi");
          ++calls;
          if (const std::string why = inconsistency(response); !why.empty()) fail(why);
          const bool is_new = response.key_fingerprint == fingerprint_of(new_key);
          const bool is_old = response.key_fingerprint == fingerprint_of(old_key);
          // Before: current is the old key, pending the new. After: current is the new key, and
          // "previous" (the old key, without weight) takes no calls.
          const bool consistent = (response.key_version == "current" && (after ? is_new : true)) ||
                                  (response.key_version == "pending" && is_new && !after);
          if (!consistent || (!is_new && !is_old) ||
              (response.key_version == "current" && is_old && after)) {
            fail("version " + response.key_version + " with " + response.key_fingerprint +
                 (after ? " after" : " before") + " the promotion");
          }
        } catch (const Error& error) {
          test::MessageLog::instance().add_message(error.what());
          fail(error.what());
        }
      }
    });
  }
  while (calls.load() < 200) std::this_thread::yield();
  keys_->promote("cred-check", "pending");
  promoted.store(1);
  const int at_promotion = calls.load();
  while (calls.load() < at_promotion + 400) std::this_thread::yield();
  stop.store(true);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<std::string>{});

  const std::vector<StoredKeyVersion> versions = keys_->versions("cred-check");
  ASSERT_EQ(versions.size(), 2u);
  std::map<std::string, std::string> by_label;
  for (const auto& version : versions) by_label[version.label] = version.key.reveal();
  EXPECT_EQ(by_label["current"], new_key);
  EXPECT_EQ(by_label["previous"], old_key);
}

TEST_F(KeyVersions, ARejectedPendingVersionFallsBackToCurrentAndIsNotUsedAgain) {
  const std::string current = test::secret("sk-fallback-current-01");
  const std::string pending = test::secret("sk-reject-fallback-pending-02");
  keys_->set("cred-check", Key(current));
  keys_->set_version("cred-check", "pending", Key(pending), 100);
  keys_->set_weight("cred-check", "current", 0);  // every call would choose pending
  const Model model = runtime_->get_model("cred-check");

  const Response first = model.prompt("hi");
  EXPECT_EQ(first.key_version, "current");
  EXPECT_EQ(first.key_fingerprint, fingerprint_of(current));
  EXPECT_EQ(inconsistency(first), "");
  const std::vector<std::string> lines = error_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("version 'pending'"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(fingerprint_of(pending)), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find(pending), std::string::npos);

  // Out of rotation for the process: a new runtime (same process) never chooses it either, nor a
  // conversation asking for it.
  start(7);
  const Model again = runtime_->get_model("cred-check");
  for (int i = 0; i < 50; ++i) {
    const Response response = again.prompt("hi");
    EXPECT_EQ(response.key_version, "current");
  }
  PromptOptions pinned;
  pinned.key_version = "pending";
  EXPECT_EQ(again.prompt("hi", std::move(pinned)).key_version, "current");
  EXPECT_EQ(error_lines().size(), 0u);  // the new runtime's log: no second rejection
}

TEST_F(KeyVersions, ARejectedCurrentVersionIsAnErrorWithoutRetry) {
  const std::string current = test::secret("sk-reject-current-only-01");
  keys_->set("cred-check", Key(current));
  keys_->set_version("cred-check", "pending", Key(test::secret("sk-ok-pending-02")), 0);
  const Model model = runtime_->get_model("cred-check");
  const Error error = test::expect_error([&] { model.prompt("hi"); });
  EXPECT_EQ(error.code(), ErrorCode::key_rejected);
  EXPECT_NE(std::string(error.what()).find("(version current)"), std::string::npos) << error.what();
  EXPECT_EQ(error_lines().size(), 0u);
}

TEST_F(KeyVersions, PromoteWeightAndRemoveKeepTheRules) {
  const std::string a = test::secret("sk-rules-a-000001");
  const std::string b = test::secret("sk-rules-b-000002");
  const std::string c = test::secret("sk-rules-c-000003");
  // A new name starts with its current version.
  EXPECT_EQ(test::expect_error([&] { keys_->set_version("n", "pending", Key(a), 10); }).code(),
            ErrorCode::usage);
  keys_->set_version("n", "current", Key(a), std::nullopt);
  keys_->set_version("n", "pending", Key(b), 10);
  keys_->promote("n", "pending");
  keys_->set_version("n", "pending", Key(c), 5);
  keys_->promote("n", "pending");  // a becomes... gone: only one previous is kept
  std::map<std::string, std::string> by_label;
  for (const auto& version : keys_->versions("n")) by_label[version.label] = version.key.reveal();
  EXPECT_EQ(by_label, (std::map<std::string, std::string>{{"current", c}, {"previous", b}}));
  EXPECT_EQ(test::expect_error([&] { keys_->remove_version("n", "current"); }).code(),
            ErrorCode::usage);
  EXPECT_EQ(test::expect_error([&] { keys_->set_weight("n", "nope", 3); }).code(),
            ErrorCode::keys_file);
  EXPECT_TRUE(keys_->remove_version("n", "previous"));
  EXPECT_FALSE(keys_->remove_version("n", "previous"));
  // A plain `set` of a name with versions replaces only the current version's key.
  keys_->set_version("n", "tier2", Key(a), 1);
  keys_->set("n", Key(b));
  by_label.clear();
  for (const auto& version : keys_->versions("n")) by_label[version.label] = version.key.reveal();
  EXPECT_EQ(by_label, (std::map<std::string, std::string>{{"current", b}, {"tier2", a}}));
  EXPECT_TRUE(keys_->remove_version("n", "tier2"));
  EXPECT_TRUE(keys_->remove_version("n", "current"));  // the last version: the name goes
  EXPECT_TRUE(keys_->versions("n").empty());
}

}  // namespace
}  // namespace llmrt
