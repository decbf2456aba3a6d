// The key resolution order, as a table a reader can check against docs/keys.md line by line:
//   0. a model that does not accept keys gets none (a key given on purpose gives a warning);
//   1. the per-call key, or a stored key named for this call;  2. the instance key;
//   3. the model's environment variable (empty = unset);  4. the model's keys-file entry.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <llmrt/llmrt.hpp>

#include <fstream>
#include <optional>
#include <string>

#include "test_support.hpp"

namespace llmrt {
namespace {

constexpr const char* kCallKey = "sk-call-111";
constexpr const char* kInstanceKey = "sk-instance-222";
constexpr const char* kEnvKey = "sk-env-333";
constexpr const char* kFileKey = "sk-file-444";
constexpr const char* kNamedKey = "sk-named-555";

struct Case {
  const char* name;
  const char* model = "echo";
  bool call_key = false;            // PromptOptions::key = kCallKey
  const char* key_name = "";        // PromptOptions::key_name
  bool instance_key = false;        // create_model(.., {.key = kInstanceKey})
  const char* env_value = nullptr;  // the model's env var
  bool file_entry = false;          // keys.json has the model's own entry (kFileKey)
  KeySource expected_source = KeySource::none;
  const char* expected_key = nullptr;  // which key must reach the plugin; nullptr: none
};

std::ostream& operator<<(std::ostream& out, const Case& c) {
  return out << c.name;
}

const Case kCases[] = {
    {.name = "PerCallKeyBeatsEverything",
     .call_key = true,
     .key_name = "",
     .instance_key = true,
     .env_value = kEnvKey,
     .file_entry = true,
     .expected_source = KeySource::per_call,
     .expected_key = kCallKey},
    {.name = "NamedStoredKeyBeatsInstanceEnvAndFile",
     .key_name = "other",
     .instance_key = true,
     .env_value = kEnvKey,
     .file_entry = true,
     .expected_source = KeySource::stored_name,
     .expected_key = kNamedKey},
    {.name = "InstanceKeyBeatsEnvironmentAndFile",
     .instance_key = true,
     .env_value = kEnvKey,
     .file_entry = true,
     .expected_source = KeySource::instance,
     .expected_key = kInstanceKey},
    {.name = "EnvironmentBeatsKeysFile",
     .env_value = kEnvKey,
     .file_entry = true,
     .expected_source = KeySource::environment,
     .expected_key = kEnvKey},
    {.name = "KeysFileEntryIsTheLastSource",
     .file_entry = true,
     .expected_source = KeySource::keys_file,
     .expected_key = kFileKey},
    {.name = "EmptyEnvironmentVariableCountsAsUnset",
     .env_value = "",
     .file_entry = true,
     .expected_source = KeySource::keys_file,
     .expected_key = kFileKey},
    {.name = "NoKeyAnywhereSendsNone", .expected_source = KeySource::none},
    {.name = "RequiredKeyFromEnvironment",
     .model = "needs-key",
     .env_value = kEnvKey,
     .expected_source = KeySource::environment,
     .expected_key = kEnvKey},
    {.name = "RequiredKeyPerCall",
     .model = "needs-key",
     .call_key = true,
     .env_value = kEnvKey,
     .expected_source = KeySource::per_call,
     .expected_key = kCallKey},
    {.name = "LegacyModelNeverGetsAKeyFromEnvironmentOrFile",
     .model = "legacy-echo",
     .env_value = kEnvKey,
     .file_entry = true,
     .expected_source = KeySource::none},
};

class KeyResolution : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    RuntimeConfig config = test::isolated_config(dir_.path(), env_);
    config.plugin_paths.push_back(test::kTestPluginDir / "needs_key.so");
    runtime_.emplace(std::move(config));
  }

  std::string env_var_for(const std::string& model) const {
    return model == "needs-key" ? "LLMRT_NEEDS_KEY" : "LLMRT_ECHO_KEY";
  }

  void store(const std::string& name, const char* key) {
    KeysFile(runtime_->keys_file_path()).set(name, Key(key));
  }

  test::TempDir dir_;
  test::FakeEnvironment env_;
  std::optional<Runtime> runtime_;
};

TEST_P(KeyResolution, ChoosesTheExpectedSource) {
  const Case& c = GetParam();
  const std::string model_id = c.model;
  if (c.env_value != nullptr) env_.set(env_var_for(model_id), c.env_value);
  const std::string file_name = model_id == "needs-key" ? "needs-key" : "echo";
  if (c.file_entry) store(file_name, kFileKey);
  store("other", kNamedKey);

  ModelSettings settings;
  if (c.instance_key) settings.key = Key(kInstanceKey);
  const Model model = runtime_->create_model(model_id, std::move(settings));
  PromptOptions options;
  if (c.call_key) options.key = Key(kCallKey);
  options.key_name = c.key_name;

  const Response response = model.prompt("Hello", std::move(options));

  EXPECT_EQ(response.key_source, c.expected_source);
  if (c.expected_key == nullptr) {
    EXPECT_EQ(response.key_fingerprint, "");
    EXPECT_EQ(response.text.find("key-sha256"), std::string::npos) << response.text;
  } else {
    const std::string fingerprint = sha256_prefix(c.expected_key);
    EXPECT_EQ(response.key_fingerprint, "sha256:" + fingerprint);
    EXPECT_NE(response.text.find("key-sha256: " + fingerprint), std::string::npos) << response.text;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, KeyResolution, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- The cases that end in an error or a warning -------------------------------------------

class KeyResolutionErrors : public KeyResolution {};

TEST_F(KeyResolutionErrors, KeyAndKeyNameTogetherIsAUsageError) {
  PromptOptions options;
  options.key = Key(kCallKey);
  options.key_name = "other";
  try {
    runtime_->get_model("echo").prompt("Hello", std::move(options));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::usage);
    EXPECT_EQ(std::string(error.what()).find(kCallKey), std::string::npos);
  }
}

TEST_F(KeyResolutionErrors, UnknownKeyNameSaysHowToAddIt) {
  try {
    runtime_->get_model("echo").prompt("Hello", {.key_name = "nobody"});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::key_missing);
    EXPECT_NE(std::string(error.what()).find("llmrt keys set nobody"), std::string::npos)
        << error.what();
  }
}

TEST_F(KeyResolutionErrors, MissingRequiredKeyNamesEveryWayToFixItBeforeThePluginRuns) {
  try {
    runtime_->get_model("needs-key").prompt("Hello");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ErrorCode::key_missing);
    EXPECT_NE(message.find("--key"), std::string::npos) << message;
    EXPECT_NE(message.find("LLMRT_NEEDS_KEY"), std::string::npos) << message;
    EXPECT_NE(message.find("llmrt keys set needs-key"), std::string::npos) << message;
  }
}

TEST_F(KeyResolutionErrors, InvalidEnvironmentKeyNamesTheVariableButNotTheKey) {
  env_.set("LLMRT_ECHO_KEY", "sk-has space");
  try {
    runtime_->get_model("echo").prompt("Hello");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ErrorCode::key_invalid);
    EXPECT_NE(message.find("LLMRT_ECHO_KEY"), std::string::npos) << message;
    EXPECT_EQ(message.find("sk-has"), std::string::npos) << message;
  }
}

TEST_F(KeyResolutionErrors, InvalidPerCallKeysAreRefusedWithoutEchoingThem) {
  for (const std::string bad : {std::string(""), std::string("sk bad"), std::string("sk\nbad"),
                                std::string("sk\0bad", 6), std::string(4097, 'k')}) {
    try {
      runtime_->get_model("echo").prompt("Hello", {.key = Key(bad)});
      FAIL() << "expected an error for a key of " << bad.size() << " bytes";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::key_invalid);
      if (bad.size() > 3) EXPECT_EQ(std::string(error.what()).find(bad), std::string::npos);
    }
  }
}

TEST_F(KeyResolutionErrors, KeyGivenToLegacyModelIsNotSentButReportedAsAWarning) {
  const Response response =
      runtime_->get_model("legacy-echo").prompt("Hello", {.key = Key(kCallKey)});
  EXPECT_EQ(response.text, "Hello");
  EXPECT_EQ(response.key_source, KeySource::none);
  ASSERT_EQ(response.warnings.size(), 1u);
  EXPECT_NE(response.warnings[0].find("was not sent"), std::string::npos);
  EXPECT_EQ(response.warnings[0].find(kCallKey), std::string::npos);
}

TEST_F(KeyResolutionErrors, LegacySetKeyOnSharedModelNeverOverridesAPerCallKey) {
  const Model shared = runtime_->get_model("echo");
  shared.set_key(Key(kInstanceKey));
  const Response with_call_key = shared.prompt("Hello", {.key = Key(kCallKey)});
  EXPECT_EQ(with_call_key.key_source, KeySource::per_call);
  EXPECT_EQ(with_call_key.key_fingerprint, "sha256:" + sha256_prefix(kCallKey));
  const Response without = runtime_->get_model("echo").prompt("Hello");
  EXPECT_EQ(without.key_source, KeySource::instance);
  EXPECT_EQ(without.key_fingerprint, "sha256:" + sha256_prefix(kInstanceKey));
}

TEST_F(KeyResolutionErrors, CreateModelInstancesDoNotShareKeys) {
  const Model alice = runtime_->create_model("echo", {.key = Key("sk-alice-1")});
  const Model bob = runtime_->create_model("echo", {.key = Key("sk-bob-2")});
  EXPECT_EQ(alice.prompt("x").key_fingerprint, "sha256:" + sha256_prefix("sk-alice-1"));
  EXPECT_EQ(bob.prompt("x").key_fingerprint, "sha256:" + sha256_prefix("sk-bob-2"));
  EXPECT_EQ(runtime_->get_model("echo").prompt("x").key_source, KeySource::none);
}

}  // namespace
}  // namespace llmrt
