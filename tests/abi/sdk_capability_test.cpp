// The C++ SDK (<llmrt/sdk.hpp>) derives a model's capabilities from the functions it defines, so
// flag and function always agree; catches every exception at the ABI boundary; and negotiates the
// ABI version with the host. Checked here without any runtime: the descriptors are called directly
// through a hand-made llmrt_sink.
#include <gtest/gtest.h>
#include <llmrt/sdk.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace {

namespace sdk = llmrt::sdk;

// ---- Models ------------------------------------------------------------------------------------

struct PlainOnly {
  static constexpr sdk::ModelInfo info{
      .id = "plain-only", .streaming = true, .deterministic = true};
  void execute(const sdk::Prompt& prompt, sdk::Output& out) { out.write(prompt.text); }
};

struct PlainAndKeyed {
  static constexpr sdk::ModelInfo info{
      .id = "plain-and-keyed", .key_name = "plain-and-keyed", .reentrant = true};
  void execute(const sdk::Prompt&, sdk::Output& out) { out.write("plain"); }
  void execute(const sdk::Prompt&, sdk::Output& out, const sdk::Key& key) {
    out.write("keyed:");
    out.write(key.value());
  }
};

struct KeyedOnly {
  static constexpr sdk::ModelInfo info{
      .id = "keyed-only", .key_name = "keyed-only", .requires_key = true};
  void execute(const sdk::Prompt&, sdk::Output& out, const sdk::Key&) { out.write("keyed"); }
};

struct ThrowsStd {
  static constexpr sdk::ModelInfo info{.id = "throws-std"};
  void execute(const sdk::Prompt&, sdk::Output&) { throw std::runtime_error("boom from model"); }
};

struct ThrowsInt {
  static constexpr sdk::ModelInfo info{.id = "throws-int"};
  void execute(const sdk::Prompt&, sdk::Output&) { throw 42; }
};

struct ThrowsSdkError {
  static constexpr sdk::ModelInfo info{.id = "throws-sdk-error", .key_name = "throws-sdk-error"};
  void execute(const sdk::Prompt&, sdk::Output&) {
    throw sdk::Error(LLMRT_UNAVAILABLE, "provider overloaded");
  }
  void execute(const sdk::Prompt&, sdk::Output&, const sdk::Key&) {
    throw sdk::Error(LLMRT_KEY_REJECTED, "provider refused the key");
  }
};

struct WritesTwice {
  static constexpr sdk::ModelInfo info{.id = "writes-twice", .streaming = true};
  void execute(const sdk::Prompt&, sdk::Output& out) {
    if (!out.write("one")) return;
    out.write("two");
  }
};

// Reads conversations: takes a ConversationPrompt. Replies "<system>|<role>:<content>,...|<text>"
// and reports usage twice (the SDK sends only the first).
struct ReadsConversation {
  static constexpr sdk::ModelInfo info{.id = "reads-conversation"};
  void execute(const sdk::ConversationPrompt& prompt, sdk::Output& out) {
    std::string seen = std::string(prompt.system()) + "|";
    for (const sdk::Message turn : prompt.history()) {
      seen += std::string(turn.role) + ":" + std::string(turn.content) + ",";
    }
    out.write(seen + "|" + std::string(prompt.text));
    out.usage(7, 8, R"({"cached":1})");
    out.usage(70, 80);
  }
};

// Reads conversations in both forms, with a key too.
struct ReadsConversationKeyed {
  static constexpr sdk::ModelInfo info{.id = "reads-conversation-keyed", .key_name = "k"};
  void execute(const sdk::ConversationPrompt&, sdk::Output&) {}
  void execute(const sdk::ConversationPrompt&, sdk::Output&, const sdk::Key&) {}
};

// ---- Compile-time: capabilities follow the functions -------------------------------------------

static_assert(sdk::HasPlainExecute<ReadsConversation>);
static_assert(sdk::detail::capabilities<ReadsConversation>() == LLMRT_CAP_CONVERSATION,
              "taking a ConversationPrompt alone sets CONVERSATION");
static_assert(sdk::detail::capabilities<ReadsConversationKeyed>() ==
              (LLMRT_CAP_CONVERSATION | LLMRT_CAP_ACCEPTS_KEY));
static_assert((sdk::detail::capabilities<PlainAndKeyed>() & LLMRT_CAP_CONVERSATION) == 0,
              "a model taking Prompt never claims to read conversations");

using sdk::detail::capabilities;

static_assert(sdk::HasPlainExecute<PlainOnly> && !sdk::HasKeyedExecute<PlainOnly>);
static_assert(sdk::HasPlainExecute<PlainAndKeyed> && sdk::HasKeyedExecute<PlainAndKeyed>);
static_assert(!sdk::HasPlainExecute<KeyedOnly> && sdk::HasKeyedExecute<KeyedOnly>);

static_assert(capabilities<PlainOnly>() == (LLMRT_CAP_STREAMING | LLMRT_CAP_DETERMINISTIC),
              "no keyed execute: no ACCEPTS_KEY");
static_assert(capabilities<PlainAndKeyed>() == (LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REENTRANT),
              "the keyed execute alone sets ACCEPTS_KEY");
static_assert(capabilities<KeyedOnly>() == (LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REQUIRES_KEY),
              "requires_key sets REQUIRES_KEY, the keyed execute sets ACCEPTS_KEY");

// ---- A hand-made sink --------------------------------------------------------------------------

struct Collected {
  std::string text;
  std::string error;
  int writes = 0;
  int stop_after_writes = -1;  // write() returns non-zero from this write on; -1: never
};

llmrt_sink make_sink(Collected& collected) {
  llmrt_sink sink{};
  sink.struct_size = sizeof(llmrt_sink);
  sink.host_data = &collected;
  sink.write = [](void* host_data, const char* data, size_t size) -> int {
    auto& c = *static_cast<Collected*>(host_data);
    c.text.append(data, size);
    ++c.writes;
    return (c.stop_after_writes >= 0 && c.writes >= c.stop_after_writes) ? 1 : 0;
  };
  sink.error = [](void* host_data, const char* message, size_t size) {
    static_cast<Collected*>(host_data)->error.append(message, size);
  };
  sink.should_stop = [](void* host_data) -> int {
    const auto& c = *static_cast<Collected*>(host_data);
    return (c.stop_after_writes >= 0 && c.writes >= c.stop_after_writes) ? 1 : 0;
  };
  return sink;
}

llmrt_prompt make_prompt(std::string_view text) {
  llmrt_prompt prompt{};
  prompt.struct_size = sizeof(llmrt_prompt);
  prompt.text = {text.data(), text.size()};
  prompt.options = {"{}", 2};
  return prompt;
}

llmrt_credential make_credential(std::string_view key) {
  llmrt_credential credential{};
  credential.struct_size = sizeof(llmrt_credential);
  credential.key = {key.data(), key.size()};
  return credential;
}

struct CallResult {
  llmrt_status status;
  Collected output;
};

CallResult call(const llmrt_model* model, std::string_view text, int stop_after_writes = -1) {
  CallResult result{};
  result.output.stop_after_writes = stop_after_writes;
  const llmrt_sink sink = make_sink(result.output);
  const llmrt_prompt prompt = make_prompt(text);
  result.status = model->execute(model, &prompt, &sink);
  return result;
}

CallResult call_with_key(const llmrt_model* model, std::string_view text, std::string_view key) {
  CallResult result{};
  const llmrt_sink sink = make_sink(result.output);
  const llmrt_prompt prompt = make_prompt(text);
  const llmrt_credential credential = make_credential(key);
  result.status = model->execute_with_key(model, &prompt, &credential, &sink);
  return result;
}

// ---- Descriptors -------------------------------------------------------------------------------

TEST(SdkDescriptor, PlainOnlyModelHasNoKeyedEntryPoint) {
  const llmrt_model* model = sdk::detail::describe<PlainOnly>();
  EXPECT_EQ(model->struct_size, sizeof(llmrt_model));
  EXPECT_STREQ(model->id, "plain-only");
  EXPECT_NE(model->execute, nullptr);
  EXPECT_EQ(model->execute_with_key, nullptr);
  EXPECT_EQ(model->capabilities & LLMRT_CAP_ACCEPTS_KEY, 0u);
  EXPECT_EQ(model->capabilities, capabilities<PlainOnly>());
}

TEST(SdkDescriptor, PlainAndKeyedModelHasBothEntryPointsAndAcceptsKey) {
  const llmrt_model* model = sdk::detail::describe<PlainAndKeyed>();
  EXPECT_NE(model->execute, nullptr);
  EXPECT_NE(model->execute_with_key, nullptr);
  EXPECT_NE(model->capabilities & LLMRT_CAP_ACCEPTS_KEY, 0u);
  EXPECT_EQ(model->capabilities & LLMRT_CAP_REQUIRES_KEY, 0u);
  EXPECT_STREQ(model->key_name, "plain-and-keyed");
}

TEST(SdkDescriptor, KeyedOnlyModelStillHasAPlainExecuteThatRefusesWithBadRequest) {
  const llmrt_model* model = sdk::detail::describe<KeyedOnly>();
  ASSERT_NE(model->execute, nullptr) << "execute is mandatory even for a model that needs a key";
  EXPECT_NE(model->execute_with_key, nullptr);
  EXPECT_EQ(model->capabilities & (LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REQUIRES_KEY),
            LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REQUIRES_KEY);

  const CallResult result = call(model, "hi");
  EXPECT_EQ(result.status, LLMRT_BAD_REQUEST);
  EXPECT_NE(result.output.error.find("keyed-only"), std::string::npos) << result.output.error;
  EXPECT_NE(result.output.error.find("needs a key"), std::string::npos) << result.output.error;
}

TEST(SdkDescriptor, FlagAndFunctionAlwaysAgree) {
  for (const llmrt_model* model :
       {sdk::detail::describe<PlainOnly>(), sdk::detail::describe<PlainAndKeyed>(),
        sdk::detail::describe<KeyedOnly>(), sdk::detail::describe<ThrowsSdkError>()}) {
    const bool flag = (model->capabilities & LLMRT_CAP_ACCEPTS_KEY) != 0;
    EXPECT_EQ(flag, model->execute_with_key != nullptr) << model->id;
  }
}

// ---- Calls through the boundary ----------------------------------------------------------------

TEST(SdkBoundary, PlainCallWritesThroughTheSink) {
  const CallResult result = call(sdk::detail::describe<PlainOnly>(), "hello");
  EXPECT_EQ(result.status, LLMRT_OK);
  EXPECT_EQ(result.output.text, "hello");
  EXPECT_EQ(result.output.error, "");
}

TEST(SdkBoundary, KeyedCallReceivesTheKeyAndPlainCallDoesNot) {
  const llmrt_model* model = sdk::detail::describe<PlainAndKeyed>();
  const CallResult keyed = call_with_key(model, "hi", "sk-abc");
  EXPECT_EQ(keyed.status, LLMRT_OK);
  EXPECT_EQ(keyed.output.text, "keyed:sk-abc");
  const CallResult plain = call(model, "hi");
  EXPECT_EQ(plain.status, LLMRT_OK);
  EXPECT_EQ(plain.output.text, "plain");
}

TEST(SdkBoundary, StdExceptionBecomesFailedWithItsMessage) {
  const CallResult result = call(sdk::detail::describe<ThrowsStd>(), "hi");
  EXPECT_EQ(result.status, LLMRT_FAILED);
  EXPECT_EQ(result.output.error, "boom from model");
}

TEST(SdkBoundary, NonStdExceptionBecomesFailedWithAClearMessage) {
  const CallResult result = call(sdk::detail::describe<ThrowsInt>(), "hi");
  EXPECT_EQ(result.status, LLMRT_FAILED);
  EXPECT_NE(result.output.error.find("not a std::exception"), std::string::npos)
      << result.output.error;
}

TEST(SdkBoundary, SdkErrorKeepsItsStatusAndMessage) {
  const llmrt_model* model = sdk::detail::describe<ThrowsSdkError>();
  const CallResult plain = call(model, "hi");
  EXPECT_EQ(plain.status, LLMRT_UNAVAILABLE);
  EXPECT_EQ(plain.output.error, "provider overloaded");
  const CallResult keyed = call_with_key(model, "hi", "sk-abc");
  EXPECT_EQ(keyed.status, LLMRT_KEY_REJECTED);
  EXPECT_EQ(keyed.output.error, "provider refused the key");
}

TEST(SdkBoundary, HostAskingToStopEndsTheCallAsCancelled) {
  const CallResult result = call(sdk::detail::describe<WritesTwice>(), "hi", 1);
  EXPECT_EQ(result.status, LLMRT_CANCELLED);
  EXPECT_EQ(result.output.text, "one") << "nothing is written after the host asked to stop";
}

// ---- Version negotiation -----------------------------------------------------------------------

llmrt_host_info make_host(uint32_t abi_version) {
  llmrt_host_info host{};
  host.struct_size = sizeof(llmrt_host_info);
  host.abi_version = abi_version;
  host.host_name = "sdk-test";
  host.host_version = "0.0.0";
  host.user_dir = "/nonexistent";
  return host;
}

const llmrt_plugin* negotiate(uint32_t host_abi_version, uint32_t* answered) {
  const llmrt_host_info host = make_host(host_abi_version);
  return sdk::detail::entry<PlainOnly, PlainAndKeyed, KeyedOnly>("sdk-test", "1.2.3", &host,
                                                                 answered);
}

TEST(SdkEntry, SameVersionHostGetsThePlugin) {
  uint32_t answered = 0;
  const llmrt_plugin* plugin = negotiate(LLMRT_ABI_VERSION, &answered);
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION);
  EXPECT_EQ(plugin->struct_size, sizeof(llmrt_plugin));
  EXPECT_EQ(plugin->abi_version, LLMRT_ABI_VERSION);
  EXPECT_STREQ(plugin->name, "sdk-test");
  EXPECT_STREQ(plugin->version, "1.2.3");
  ASSERT_EQ(plugin->model_count, 3u);
  EXPECT_STREQ(plugin->models[0]->id, "plain-only");
  EXPECT_STREQ(plugin->models[1]->id, "plain-and-keyed");
  EXPECT_STREQ(plugin->models[2]->id, "keyed-only");
  ASSERT_NE(plugin->get_extension, nullptr);
  EXPECT_EQ(plugin->get_extension("llmrt.unknown/1"), nullptr);
}

TEST(SdkEntry, OlderMajorHostGetsNullAndThePluginVersion) {
  uint32_t answered = 0;
  EXPECT_EQ(negotiate(LLMRT_ABI_MAKE_VERSION(1, 0), &answered), nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION);
}

TEST(SdkEntry, NewerMajorHostGetsThePluginAtItsOwnVersion) {
  uint32_t answered = 0;
  const llmrt_plugin* plugin = negotiate(LLMRT_ABI_MAKE_VERSION(3, 0), &answered);
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION);
  EXPECT_EQ(plugin->abi_version, LLMRT_ABI_VERSION);
}

TEST(SdkEntry, NewerMinorHostGetsThePlugin) {
  uint32_t answered = 0;
  EXPECT_NE(negotiate(LLMRT_ABI_MAKE_VERSION(2, 9), &answered), nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION);
}

TEST(SdkEntry, TruncatedOrMissingHostInfoGetsNull) {
  uint32_t answered = 0;
  EXPECT_EQ((sdk::detail::entry<PlainOnly>("sdk-test", "1.2.3", nullptr, &answered)), nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION) << "the plugin still says which version it speaks";

  llmrt_host_info host = make_host(LLMRT_ABI_VERSION);
  host.struct_size = sizeof(uint32_t);  // too short to hold abi_version
  answered = 0;
  EXPECT_EQ((sdk::detail::entry<PlainOnly>("sdk-test", "1.2.3", &host, &answered)), nullptr);
  EXPECT_EQ(answered, LLMRT_ABI_VERSION);

  host = make_host(LLMRT_ABI_VERSION);
  EXPECT_EQ((sdk::detail::entry<PlainOnly>("sdk-test", "1.2.3", &host, nullptr)), nullptr);
}

// ---- Conversations and usage (ABI 2.2) ----------------------------------------------------------

struct UsageSeen {
  int reports = 0;
  llmrt_usage first{};
  std::string details;
};

TEST(SdkConversation, AConversationModelSeesTheSystemPromptAndEveryTurn) {
  const llmrt_model* model = sdk::detail::describe<ReadsConversation>();
  Collected output;
  UsageSeen usage;
  llmrt_sink sink = make_sink(output);
  // host_data is shared by write and usage: route usage through a static for this test.
  static UsageSeen* seen = nullptr;
  seen = &usage;
  sink.usage = [](void*, const llmrt_usage* report) {
    if (seen->reports++ == 0) {
      seen->first = *report;
      seen->details.assign(report->details_json.data, report->details_json.size);
    }
  };
  llmrt_prompt prompt = make_prompt("now");
  const llmrt_message turns[] = {{{"user", 4}, {"hi", 2}}, {{"assistant", 9}, {"hello", 5}}};
  prompt.system = {"sys", 3};
  prompt.history = turns;
  prompt.history_count = 2;
  EXPECT_EQ(model->execute(model, &prompt, &sink), LLMRT_OK) << output.error;
  EXPECT_EQ(output.text, "sys|user:hi,assistant:hello,|now");
  EXPECT_EQ(usage.reports, 1) << "the SDK sends usage at most once";
  EXPECT_EQ(usage.first.input_tokens, 7);
  EXPECT_EQ(usage.first.output_tokens, 8);
  EXPECT_EQ(usage.details, R"({"cached":1})");
}

TEST(SdkConversation, A21SizedPromptAndSinkGiveAnEmptyConversationAndNoUsageCall) {
  const llmrt_model* model = sdk::detail::describe<ReadsConversation>();
  Collected output;
  llmrt_sink sink = make_sink(output);
  sink.struct_size = offsetof(llmrt_sink, usage);  // a 2.1 host: no usage field
  sink.usage = nullptr;
  llmrt_prompt prompt = make_prompt("now");
  const llmrt_message turns[] = {{{"user", 4}, {"hi", 2}}};
  prompt.system = {"sys", 3};
  prompt.history = turns;
  prompt.history_count = 1;
  prompt.struct_size = offsetof(llmrt_prompt, system);  // the host did not pass them
  EXPECT_EQ(model->execute(model, &prompt, &sink), LLMRT_OK) << output.error;
  EXPECT_EQ(output.text, "||now");
}

}  // namespace
