// Conversations (ABI 2.2, llmrt::Conversation): what reaches a model that reads conversations, what
// reaches one that does not (v1 and 2.1 binaries: only the last prompt, and a warning), how keys
// are resolved again on every turn, and how usage is reported and summed.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

bool has_warning_containing(const Response& response, const std::string& part) {
  for (const std::string& warning : response.warnings) {
    if (warning.find(part) != std::string::npos) return true;
  }
  return false;
}

class ConversationTest : public ::testing::Test {
 protected:
  void SetUp() override { make_runtime(); }

  void make_runtime() {
    RuntimeConfig config = test::isolated_config(dir_.path(), environment_);
    config.plugin_paths.push_back(test::kTestPluginDir / "v2_1_echo.so");
    config.plugin_paths.push_back(test::kTestPluginDir / "usage_breach.so");
    runtime_.emplace(std::move(config));
  }

  test::TempDir dir_;
  test::FakeEnvironment environment_;
  std::optional<Runtime> runtime_;
};

TEST_F(ConversationTest, EchoDeclaresThatItReadsConversations) {
  EXPECT_TRUE(runtime_->get_model("echo").info().conversation);
  EXPECT_FALSE(runtime_->get_model("legacy-echo").info().conversation);
}

TEST_F(ConversationTest, TwoPointTwoEchoSeesEveryEarlierTurnAndTheSystemPrompt) {
  Conversation chat = runtime_->get_model("echo").conversation();
  EXPECT_EQ(chat.prompt("one").text, "one");
  EXPECT_EQ(chat.prompt("two").text, "[history: 2 turns]\ntwo");
  const Response third = chat.prompt("three", {.system = "be brief"});
  EXPECT_EQ(third.text, "[system: be brief]\n[history: 4 turns]\nthree");
  EXPECT_TRUE(third.warnings.empty());
  // The system prompt stays with the conversation for the turns after it.
  EXPECT_EQ(chat.prompt("four").text, "[system: be brief]\n[history: 6 turns]\nfour");
  const std::vector<Message> turns = chat.messages();
  ASSERT_EQ(turns.size(), 8u);
  EXPECT_EQ(turns[0].role, "user");
  EXPECT_EQ(turns[0].content, "one");
  EXPECT_EQ(turns[1].role, "assistant");
  EXPECT_EQ(turns[1].content, "one");
  EXPECT_EQ(turns[6].content, "four");
}

TEST_F(ConversationTest, V1LegacyEchoGetsOnlyTheLastPromptAndAWarning) {
  Conversation chat = runtime_->get_model("legacy-echo").conversation({.system = "be brief"});
  const Response first = chat.prompt("one");
  EXPECT_EQ(first.text, "one");
  EXPECT_TRUE(has_warning_containing(first, "the system prompt was not sent")) << first.text;
  const Response second = chat.prompt("two");
  EXPECT_EQ(second.text, "two");
  EXPECT_TRUE(has_warning_containing(second,
                                     "does not read conversations: the system prompt and 2 "
                                     "earlier turns were not sent, only the last prompt"));
}

TEST_F(ConversationTest, TwoPointOnePluginGetsOnlyTheLastPromptAndAWarningDespiteBitFive) {
  const Model model = runtime_->get_model("v21-echo");
  EXPECT_EQ(model.info().abi_version, (2u << 16) | 1u);
  EXPECT_FALSE(model.info().conversation) << "bit 5 means nothing in a 2.1 plugin";
  Conversation chat = model.conversation();
  EXPECT_EQ(chat.prompt("one").text, "one");
  const Response second = chat.prompt("two");
  EXPECT_EQ(second.text, "two") << "the 2.1 plugin was shown a larger prompt";
  EXPECT_TRUE(has_warning_containing(second, "2 earlier turns were not sent"))
      << (second.warnings.empty() ? "" : second.warnings[0]);
  // Keys still work for it, turn by turn.
  EXPECT_EQ(chat.prompt("three", {.key = "sk-v21-key"}).text, "three (keyed)");
}

TEST_F(ConversationTest, APlainPromptWithHistoryWarnsForAModelThatCannotReadIt) {
  const Response response = runtime_->get_model("legacy-echo")
                                .prompt("last", {.history = {{"user", "a"}, {"assistant", "b"}}});
  EXPECT_EQ(response.text, "last");
  EXPECT_TRUE(has_warning_containing(response, "2 earlier turns were not sent"));
}

TEST_F(ConversationTest, APerCallKeyIsUsedForItsTurnOnlyAndTheNextTurnFallsBackToTheEnvironment) {
  environment_.set("LLMRT_ECHO_KEY", "sk-env-key-1");
  make_runtime();
  Conversation chat = runtime_->get_model("echo").conversation();
  const Response first = chat.prompt("one", {.key = "sk-tenant-a"});
  EXPECT_EQ(first.key_source, KeySource::per_call);
  EXPECT_EQ(first.key_fingerprint, Key("sk-tenant-a").fingerprint());
  const Response second = chat.prompt("two");
  EXPECT_EQ(second.key_source, KeySource::environment);
  EXPECT_EQ(second.key_fingerprint, Key("sk-env-key-1").fingerprint());
  EXPECT_NE(second.text.find("key-sha256: " + Key("sk-env-key-1").fingerprint().substr(7)),
            std::string::npos)
      << second.text;
}

TEST_F(ConversationTest, APerCallKeyIsUsedForItsTurnOnlyAndTheNextTurnFallsBackToTheKeysFile) {
  KeysFile(runtime_->keys_file_path()).set("echo", Key("sk-stored-key-2"));
  Conversation chat = runtime_->get_model("echo").conversation();
  EXPECT_EQ(chat.prompt("one", {.key = "sk-tenant-b"}).key_fingerprint,
            Key("sk-tenant-b").fingerprint());
  const Response second = chat.prompt("two");
  EXPECT_EQ(second.key_source, KeySource::keys_file);
  EXPECT_EQ(second.key_fingerprint, Key("sk-stored-key-2").fingerprint());
}

TEST_F(ConversationTest, WithoutAnyOtherSourceTheSecondTurnHasNoKeyAtAll) {
  Conversation chat = runtime_->get_model("echo").conversation();
  chat.prompt("one", {.key = "sk-tenant-c"});
  const Response second = chat.prompt("two");
  EXPECT_EQ(second.key_source, KeySource::none);
  EXPECT_TRUE(second.key_fingerprint.empty());
  EXPECT_EQ(second.text.find("key-sha256"), std::string::npos) << second.text;
}

TEST_F(ConversationTest, SixteenThreadsOfFiftyTurnsEachGetTheirOwnKeyOnEveryTurn) {
  constexpr int kThreads = 16;
  constexpr int kTurns = 50;
  const Model echo = runtime_->get_model("echo");
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Conversation chat = echo.conversation();
      for (int turn = 0; turn < kTurns; ++turn) {
        const std::string key = "sk-t" + std::to_string(t) + "-turn" + std::to_string(turn);
        const std::string text = "t" + std::to_string(t) + "." + std::to_string(turn);
        const Response reply = chat.prompt(text, {.key = key});
        const std::string expected =
            (turn == 0 ? "" : "[history: " + std::to_string(2 * turn) + " turns]\n") + text +
            "\nkey-sha256: " + Key(key).fingerprint().substr(7);
        if (reply.text != expected || reply.key_fingerprint != Key(key).fingerprint()) {
          failures[t] = "turn " + std::to_string(turn) + ": got '" + reply.text + "'";
          return;
        }
      }
      if (chat.messages().size() != 2 * kTurns) failures[t] = "lost turns";
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

TEST_F(ConversationTest, EchoReportsUsageInWordsAndTheConversationSumsIt) {
  Conversation chat = runtime_->get_model("echo").conversation();
  const Response first = chat.prompt("a b c");
  ASSERT_TRUE(first.usage.has_value());
  EXPECT_EQ(first.usage->input_tokens, 3);
  EXPECT_EQ(first.usage->output_tokens, 3);
  // Reads 3 + 3 earlier words and 2 new ones; writes "[history: 2 turns]" (3 words) and 2.
  const Response second = chat.prompt("d e");
  ASSERT_TRUE(second.usage.has_value());
  EXPECT_EQ(second.usage->input_tokens, 8);
  EXPECT_EQ(second.usage->output_tokens, 5);
  const Usage total = chat.usage();
  EXPECT_EQ(total.input_tokens, 11);
  EXPECT_EQ(total.output_tokens, 8);
}

TEST_F(ConversationTest, AModelThatReportsNoUsageLeavesItEmpty) {
  const Response response = runtime_->get_model("legacy-echo").prompt("a b");
  EXPECT_FALSE(response.usage.has_value());
  Conversation chat = runtime_->get_model("legacy-echo").conversation();
  chat.prompt("x");
  EXPECT_EQ(chat.usage().input_tokens, -1);
}

TEST_F(ConversationTest, UsageReportedTwiceKeepsTheFirstAndWarns) {
  const Response response = runtime_->get_model("usage-twice").prompt("hi");
  ASSERT_TRUE(response.usage.has_value());
  EXPECT_EQ(response.usage->input_tokens, 3);
  EXPECT_EQ(response.usage->output_tokens, 1);
  EXPECT_TRUE(has_warning_containing(response, "reported its usage more than once"));
}

TEST_F(ConversationTest, OutputAfterTheUsageReportIsKeptButWarned) {
  const Response response = runtime_->get_model("write-after-usage").prompt("hi");
  EXPECT_EQ(response.text, "hi");
  EXPECT_TRUE(has_warning_containing(response, "wrote output after reporting its usage"));
}

TEST_F(ConversationTest, AsyncTurnsAreRememberedBeforeTheNextTurn) {
  Conversation chat = runtime_->get_model("echo").conversation();
  AsyncResponse first = chat.prompt_async("one");
  AsyncResponse second = chat.prompt_async("two");  // queued after `one` finished: sees it
  EXPECT_EQ(first.get().text, "one");
  EXPECT_EQ(second.get().text, "[history: 2 turns]\ntwo");
  EXPECT_EQ(chat.prompt("three").text, "[history: 4 turns]\nthree");
}

TEST_F(ConversationTest, AFailedTurnIsNotRemembered) {
  Conversation chat = runtime_->get_model("echo").conversation();
  chat.prompt("one");
  EXPECT_THROW(chat.prompt("boom", {.options = {{"fail", "on purpose"}}}), Error);
  EXPECT_EQ(chat.prompt("two").text, "[history: 2 turns]\ntwo");
}

TEST_F(ConversationTest, AConversationCanBeContinuedFromSavedTurns) {
  Conversation chat = runtime_->get_model("echo").conversation(
      {.id = "saved-1", .system = "sys", .history = {{"user", "a"}, {"assistant", "a"}}});
  EXPECT_EQ(chat.id(), "saved-1");
  EXPECT_EQ(chat.prompt("b").text, "[system: sys]\n[history: 2 turns]\nb");
}

TEST_F(ConversationTest, NewConversationsGetDistinctIds) {
  const Model echo = runtime_->get_model("echo");
  const std::string a = echo.conversation().id();
  const std::string b = echo.conversation().id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace llmrt
