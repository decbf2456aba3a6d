// Credential providers through llmrt::Runtime, with credentials.json in the test's user directory
// and model "cred-check" (tests/credentials/plugins): the configured order, environment_file,
// command, broken sources, a malformed file, the per-call key winning, and LLMRT_KEY_REJECTED
// invalidating the command's cache.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <llmrt/llmrt.hpp>

#include <optional>
#include <string>

#include "credentials_test_support.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

const std::string kEnvKey = test::secret("sk-src-env-1001");
const std::string kFileKey = test::secret("sk-src-envfile-1002");
const std::string kStoredKey = test::secret("sk-src-stored-1003");
const std::string kCommandKey = test::secret("sk-src-command-1004");
const std::string kSecondCommandKey = test::secret("sk-src-command-1005");
const std::string kCallKey = test::secret("sk-src-call-1006");
const std::string kInstanceKey = test::secret("sk-src-instance-1007");
const std::string kNamedKey = test::secret("sk-src-named-1008");
const std::string kRejectedKey = test::secret("sk-reject-src-1009");

constexpr const char* kEnvVar = "LLMRT_CRED_CHECK_KEY";
constexpr const char* kFileVar = "LLMRT_CRED_CHECK_KEY_FILE";

std::string fingerprint(const std::string& key) {
  return "sha256:" + sha256_prefix(key);
}

// A JSON string literal for `text` (test paths have no quotes or backslashes).
std::string json_string(const std::string& text) {
  return "\"" + text + "\"";
}

class CredentialSources : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(key_file(), kCommandKey + "\n" + kSecondCommandKey + "\n");
    test::write_file(env_file(), kFileKey + "\n");
  }

  std::filesystem::path key_file() const { return dir_.path() / "command-keys.txt"; }
  std::filesystem::path env_file() const { return dir_.path() / "openai.key"; }
  std::filesystem::path count_file() const { return dir_.path() / "command-count"; }
  int command_runs() const {
    const std::string text = test::read_file(count_file());
    return text.empty() ? 0 : std::stoi(text);
  }

  // The "command" object running the fake command with `args`. The timeout is generous, so that
  // only the test about timeouts depends on timing, even on a loaded machine.
  std::string command(const std::string& args = "", int timeout_ms = 30000) const {
    std::string argv = json_string(test::kFakeCredentialCommand.string()) + ", \"--key-file\", " +
                       json_string(key_file().string()) + ", \"--count-file\", " +
                       json_string(count_file().string());
    if (!args.empty()) argv += ", " + args;
    return R"({"argv": [)" + argv + R"(], "timeout_ms": )" + std::to_string(timeout_ms) + "}";
  }

  // Writes credentials.json with one entry, for "cred-check".
  void configure(const std::string& sources, const std::string& extra = "") {
    std::string entry = R"({"sources": )" + sources;
    if (!extra.empty()) entry += ", " + extra;
    entry += "}";
    test::write_file(dir_.path() / "credentials.json",
                     R"({"// Note": "test", "cred-check": )" + entry + "}\n");
  }

  Runtime& runtime() {
    if (!runtime_) {
      RuntimeConfig config = test::isolated_config(dir_.path(), env_);
      // Only the test plugin: these tests need no other, and load nothing they do not call.
      config.plugin_paths = {test::kCredentialsPluginDir / "credentials_check.so"};
      runtime_.emplace(std::move(config));
      EXPECT_TRUE(runtime_->load_errors().empty());
    }
    return *runtime_;
  }

  Response prompt(PromptOptions options = {}) {
    Response response = runtime().get_model("cred-check").prompt("hi", std::move(options));
    test::record(response.warnings);
    return response;
  }

  Error prompt_error(PromptOptions options = {}) {
    return test::expect_error([&] { prompt(std::move(options)); });
  }

  // The call used `key` from `source`, and the plugin saw it at the start and at the end.
  static void expect_key(const Response& response, KeySource source, const std::string& key) {
    EXPECT_EQ(response.key_source, source) << to_string(response.key_source);
    EXPECT_EQ(response.key_fingerprint, fingerprint(key));
    const std::string line = "key-sha256: " + sha256_prefix(key) + "\n";
    EXPECT_TRUE(response.text.starts_with(line)) << response.text;
    EXPECT_TRUE(response.text.ends_with(line)) << response.text;
  }

  void store(const std::string& name, const std::string& key) {
    KeysFile(runtime().keys_file_path()).set(name, Key(key));
  }

  test::TempDir dir_;
  test::FakeEnvironment env_;
  std::optional<Runtime> runtime_;
};

// ---- Order ---------------------------------------------------------------------------------

TEST_F(CredentialSources, WithoutAFileTheOrderIsEnvironmentThenKeysFile) {
  EXPECT_EQ(runtime().credentials_file_path(), dir_.path() / "credentials.json");
  store("cred-check", kStoredKey);
  env_.set(kEnvVar, kEnvKey);
  expect_key(prompt(), KeySource::environment, kEnvKey);
  env_.unset(kEnvVar);
  expect_key(prompt(), KeySource::keys_file, kStoredKey);
}

TEST_F(CredentialSources, TheConfiguredOrderIsRespected) {
  configure(R"(["keys_file", "command", "environment_file", "environment"])",
            R"("environment_file": ")" + std::string(kFileVar) + R"(", "command": )" + command());
  store("cred-check", kStoredKey);
  env_.set(kEnvVar, kEnvKey);
  env_.set(kFileVar, env_file().string());

  expect_key(prompt(), KeySource::keys_file, kStoredKey);
  KeysFile(runtime().keys_file_path()).remove("cred-check");
  expect_key(prompt(), KeySource::command, kCommandKey);
  EXPECT_EQ(command_runs(), 1);
}

TEST_F(CredentialSources, EachSourceCanComeFirst) {
  const std::pair<std::string, KeySource> firsts[] = {
      {"environment", KeySource::environment},
      {"environment_file", KeySource::environment_file},
      {"keys_file", KeySource::keys_file},
      {"command", KeySource::command},
  };
  const std::pair<KeySource, std::string> keys[] = {{KeySource::environment, kEnvKey},
                                                    {KeySource::environment_file, kFileKey},
                                                    {KeySource::keys_file, kStoredKey},
                                                    {KeySource::command, kCommandKey}};
  for (const auto& [first, source] : firsts) {
    SCOPED_TRACE(first);
    std::string order = "[" + json_string(first);
    for (const auto& [other, unused] : firsts) {
      if (other != first) order += ", " + json_string(other);
    }
    configure(order + "]",
              R"("environment_file": ")" + std::string(kFileVar) + R"(", "command": )" + command());
    runtime_.reset();  // credentials.json is read when the runtime is made
    store("cred-check", kStoredKey);
    env_.set(kEnvVar, kEnvKey);
    env_.set(kFileVar, env_file().string());
    for (const auto& [key_source, key] : keys) {
      if (key_source == source) expect_key(prompt(), source, key);
    }
  }
}

TEST_F(CredentialSources, SourcesNotListedAreNeverConsulted) {
  configure(R"(["keys_file"])");
  env_.set(kEnvVar, kEnvKey);
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::key_missing);
  // The message offers only what the chain has.
  EXPECT_TRUE(test::contains(error.what(), "llmrt keys set cred-check")) << error.what();
  EXPECT_FALSE(test::contains(error.what(), kEnvVar)) << error.what();
}

TEST_F(CredentialSources, NoSourcesLeavesOnlyThePerCallAndInstanceKeys) {
  configure("[]");
  env_.set(kEnvVar, kEnvKey);
  store("cred-check", kStoredKey);
  EXPECT_EQ(prompt_error().code(), ErrorCode::key_missing);
  expect_key(prompt({.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
  const Model tenant = runtime().create_model("cred-check", {.key = Key(kInstanceKey)});
  expect_key(tenant.prompt("hi"), KeySource::instance, kInstanceKey);
}

TEST_F(CredentialSources, AKeyNameWithoutAnEntryKeepsTheDefaultOrder) {
  test::write_file(dir_.path() / "credentials.json",
                   R"({"someone-else": {"sources": ["keys_file"]}})");
  env_.set(kEnvVar, kEnvKey);
  expect_key(prompt(), KeySource::environment, kEnvKey);
}

TEST_F(CredentialSources, KeySourceNamesTheNewSources) {
  EXPECT_EQ(to_string(KeySource::environment_file), "environment-file");
  EXPECT_EQ(to_string(KeySource::command), "command");
}

// ---- The per-call key always wins ----------------------------------------------------------

TEST_F(CredentialSources, PerCallKeyWinsOverEveryConfiguredSource) {
  configure(R"(["command", "environment_file", "environment", "keys_file"])",
            R"("environment_file": ")" + std::string(kFileVar) + R"(", "command": )" + command());
  env_.set(kEnvVar, kEnvKey);
  env_.set(kFileVar, env_file().string());
  store("cred-check", kStoredKey);
  store("other", kNamedKey);

  expect_key(prompt({.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
  expect_key(prompt({.key_name = "other"}), KeySource::stored_name, kNamedKey);
  const Model tenant = runtime().create_model("cred-check", {.key = Key(kInstanceKey)});
  expect_key(tenant.prompt("hi"), KeySource::instance, kInstanceKey);
  expect_key(tenant.prompt("hi", {.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
  EXPECT_EQ(command_runs(), 0) << "the command ran although an earlier key was there";
}

TEST_F(CredentialSources, PerCallKeyWinsEvenOverABrokenSourceOrFile) {
  configure(R"(["environment_file"])", R"("environment_file": ")" + std::string(kFileVar) + "\"");
  env_.set(kFileVar, (dir_.path() / "missing.key").string());
  expect_key(prompt({.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
  test::write_file(dir_.path() / "credentials.json", "{not json");
  runtime_.reset();
  expect_key(prompt({.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
}

// ---- environment_file ----------------------------------------------------------------------

TEST_F(CredentialSources, EnvironmentFileGivesTheKeyWithoutItsNewline) {
  configure(R"(["environment_file", "environment"])",
            R"("environment_file": ")" + std::string(kFileVar) + "\"");
  env_.set(kFileVar, env_file().string());
  env_.set(kEnvVar, kEnvKey);
  expect_key(prompt(), KeySource::environment_file, kFileKey);
  test::write_file(env_file(), kFileKey + "\r\n");
  expect_key(prompt(), KeySource::environment_file, kFileKey);
  // Unset (or empty) is not found: the next source answers.
  env_.set(kFileVar, "");
  expect_key(prompt(), KeySource::environment, kEnvKey);
}

TEST_F(CredentialSources, EnvironmentFileMissingIsBrokenNamingTheVariableAndTheFile) {
  configure(R"(["environment_file", "keys_file"])",
            R"("environment_file": ")" + std::string(kFileVar) + "\"");
  store("cred-check",
        kStoredKey);  // there, but never reached: a broken source does not fall through
  const auto missing = dir_.path() / "no-such.key";
  env_.set(kFileVar, missing.string());
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_EQ(to_string(error.code()), "credential_source");
  EXPECT_TRUE(test::contains(error.what(), kFileVar)) << error.what();
  EXPECT_TRUE(test::contains(error.what(), missing.string())) << error.what();
  EXPECT_TRUE(test::contains(error.what(), "No such file or directory")) << error.what();
}

TEST_F(CredentialSources, EnvironmentFileThatIsEmptyADirectoryOrTooLargeIsBroken) {
  configure(R"(["environment_file"])", R"("environment_file": ")" + std::string(kFileVar) + "\"");
  const std::pair<std::filesystem::path, std::string> cases[] = {
      {dir_.path() / "empty.key", "is empty"},
      {dir_.path(), "is not a regular file"},
      {dir_.path() / "big.key", "holds more than 4098 bytes"},
  };
  test::write_file(dir_.path() / "empty.key", "\n");
  test::write_file(dir_.path() / "big.key", std::string(5000, 'k'));
  for (const auto& [path, expected] : cases) {
    env_.set(kFileVar, path.string());
    const Error error = prompt_error();
    EXPECT_EQ(error.code(), ErrorCode::credential_source) << path;
    EXPECT_TRUE(test::contains(error.what(), expected)) << error.what();
  }
}

TEST_F(CredentialSources, EnvironmentFileWithAnInvalidKeyIsKeyInvalidWithoutTheKey) {
  configure(R"(["environment_file"])", R"("environment_file": ")" + std::string(kFileVar) + "\"");
  const std::string bad = test::secret("sk-bad file-key");
  test::write_file(env_file(), bad + "\n");
  env_.set(kFileVar, env_file().string());
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::key_invalid);
  EXPECT_TRUE(test::contains(error.what(), kFileVar)) << error.what();
}

// ---- command -------------------------------------------------------------------------------

TEST_F(CredentialSources, CommandCredentialIsCachedAndCarriesItsTokenAndExpiry) {
  configure(R"(["command"])", R"("command": )" + command(R"("--token", "--expires-in", "3600")"));
  for (int i = 0; i < 5; ++i) {
    const Response response = prompt();
    expect_key(response, KeySource::command, kCommandKey);
    EXPECT_TRUE(
        test::contains(response.text, "token-sha256: " + sha256_prefix(kCommandKey + "-session")))
        << response.text;
    EXPECT_FALSE(test::contains(response.text, "expires-at: 0\n")) << response.text;
  }
  EXPECT_EQ(command_runs(), 1);
}

// A plugin that echoes the key and the session token in its error: before, the message was cut to
// 4096 bytes before the key was looked for (a key straddling the cut was not found, and its first
// part was shown), and the token was never scrubbed at all.
TEST_F(CredentialSources, KeyAndTokenEchoedByAPluginAreScrubbedWhereverTheyFall) {
  std::string long_key;
  for (int i = 0; long_key.size() < 3000; ++i) long_key += "k" + std::to_string(i * 7919) + "-";
  const std::string key = test::secret(long_key);
  const std::string token = test::secret(std::string(key.rbegin(), key.rend()));
  test::write_file(key_file(), key + "\n");
  configure(R"(["command"])", R"("command": )" + command(R"("--token", "--reversed-token")"));
  for (const int padding : {0, 100, 1500, 2000, 2500, 4000, 4090, 5000, 7000}) {
    SCOPED_TRACE(padding);
    const Error error = test::expect_error(
        [&] { (void)runtime().get_model("cred-check").prompt("leak " + std::to_string(padding)); });
    const std::string message = error.what();
    for (std::size_t i = 0; i + 8 <= key.size(); ++i) {
      ASSERT_FALSE(test::contains(message, key.substr(i, 8))) << "a piece of the key: " << message;
      ASSERT_FALSE(test::contains(message, token.substr(i, 8)))
          << "a piece of the token: " << message;
    }
    if (padding < 2000) EXPECT_TRUE(test::contains(message, "[redacted]")) << message;
  }
}

TEST_F(CredentialSources, CommandFailingIsBrokenNamingTheCommand) {
  configure(R"(["command", "environment"])",
            R"("command": )" + command(R"("--exit", "1", "--stderr", "no such account")"));
  env_.set(kEnvVar, kEnvKey);  // there, but never reached
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "the credential command for 'cred-check'"))
      << error.what();
  EXPECT_TRUE(test::contains(error.what(), test::kFakeCredentialCommand.string())) << error.what();
  EXPECT_TRUE(test::contains(error.what(), "exited with status 1")) << error.what();
  EXPECT_TRUE(test::contains(error.what(), "no such account")) << error.what();
  // Its arguments are not shown (they could be anything the file says).
  EXPECT_FALSE(test::contains(error.what(), "--key-file")) << error.what();

  // Broken until the backoff passes: the next call does not run it again.
  const Error again = prompt_error();
  EXPECT_TRUE(test::contains(again.what(), "next attempt in")) << again.what();
  EXPECT_EQ(command_runs(), 1);
}

TEST_F(CredentialSources, CommandTimeoutAndGarbageAreBroken) {
  configure(R"(["command"])", R"("command": )" + command(R"("--sleep-ms", "10000")", 200));
  const Error timeout = prompt_error();
  EXPECT_EQ(timeout.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(timeout.what(), "did not finish within 200 ms")) << timeout.what();

  configure(R"(["command"])", R"("command": )" + command(R"("--garbage")"));
  runtime_.reset();
  const Error garbage = prompt_error();
  EXPECT_EQ(garbage.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(garbage.what(), "JSON object")) << garbage.what();
}

TEST_F(CredentialSources, CommandGivingAnExpiredCredentialIsBroken) {
  configure(R"(["command"])", R"("command": )" + command(R"("--expires-in", "-10")"));
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "already expired")) << error.what();
}

TEST_F(CredentialSources, CommandFailingInTheAdvisoryWindowKeepsServingTheLastGoodOne) {
  // Every credential expires in 200 s: inside the 300 s advisory window from the start, so every
  // call tries one refresh. From the second run on, the command fails.
  configure(R"(["command"])",
            R"("command": )" + command(R"("--expires-in", "200", "--fail-from", "2")"));
  expect_key(prompt(), KeySource::command, kCommandKey);
  EXPECT_EQ(command_runs(), 1);
  expect_key(prompt(), KeySource::command, kCommandKey);  // refresh failed: the last good one
  EXPECT_EQ(command_runs(), 2);
  expect_key(prompt(), KeySource::command, kCommandKey);  // backing off: no new run
  EXPECT_EQ(command_runs(), 2);
}

TEST_F(CredentialSources, KeyRejectedByThePluginInvalidatesTheCommandCache) {
  test::write_file(key_file(), kRejectedKey + "\n" + kSecondCommandKey + "\n");
  configure(R"(["command"])", R"("command": )" + command(R"("--expires-in", "3600")"));

  const Error rejected = prompt_error();
  EXPECT_EQ(rejected.code(), ErrorCode::key_rejected);
  EXPECT_TRUE(test::contains(rejected.what(), "from command source")) << rejected.what();
  EXPECT_TRUE(test::contains(rejected.what(), fingerprint(kRejectedKey))) << rejected.what();
  // The plugin repeated the key in its message; the host scrubbed it.
  EXPECT_TRUE(test::contains(rejected.what(), "[redacted]")) << rejected.what();
  EXPECT_EQ(command_runs(), 1);

  // The rejected credential was dropped: the next call runs the command again.
  expect_key(prompt(), KeySource::command, kSecondCommandKey);
  EXPECT_EQ(command_runs(), 2);
  expect_key(prompt(), KeySource::command, kSecondCommandKey);  // and caches the new one
  EXPECT_EQ(command_runs(), 2);
}

TEST_F(CredentialSources, KeyRejectedFromAnotherSourceDoesNotTouchTheCommandCache) {
  configure(R"(["command"])", R"("command": )" + command(R"("--expires-in", "3600")"));
  expect_key(prompt(), KeySource::command, kCommandKey);
  EXPECT_EQ(prompt_error({.key = Key(kRejectedKey)}).code(), ErrorCode::key_rejected);
  expect_key(prompt(), KeySource::command, kCommandKey);
  EXPECT_EQ(command_runs(), 1);
}

// ---- A malformed credentials.json ----------------------------------------------------------

TEST_F(CredentialSources, MalformedFileIsAnErrorNamingItOnEveryCallThatNeedsIt) {
  const std::string program = json_string(test::kFakeCredentialCommand.string());
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "is not valid JSON"},
      {"[]", "is not a JSON object"},
      {R"({"cred-check": ["environment"]})", "must be an object"},
      {R"({"bad name!": {}})", "is not a key name"},
      {R"({"cred-check": {"sources": ["enviroment"]}})", "unknown source 'enviroment'"},
      {R"({"cred-check": {"sources": ["keys_file", "keys_file"]}})", "listed twice"},
      {R"({"cred-check": {"sources": "keys_file"}})", "must be an array"},
      {R"({"cred-check": {"source": ["keys_file"]}})", "unknown field 'source'"},
      {R"({"cred-check": {"sources": ["environment_file"]}})", "no \"environment_file\" field"},
      {R"({"cred-check": {"sources": ["environment_file"], "environment_file": "A B"}})",
       "name of an environment variable"},
      {R"({"cred-check": {"sources": ["keys_file"], "environment_file": "X_FILE"}})",
       "does not list it"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": []}}})",
       "non-empty array of strings"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": ["get-key"]}}})",
       "must be an absolute path"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": [)" + program +
           R"(], "timeout_ms": 0}}})",
       "\"timeout_ms\" must be between 1 and 600000"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": [)" + program +
           R"(], "timeout_ms": 1.5}}})",
       "must be a whole number"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": [)" + program +
           R"(], "advisory_refresh_s": 30, "mandatory_refresh_s": 60}}})",
       "must not be larger than"},
      {R"({"cred-check": {"sources": ["command"], "command": {"argv": [)" + program +
           R"(], "shell": true}}})",
       "unknown field 'shell'"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    test::write_file(dir_.path() / "credentials.json", text);
    runtime_.reset();
    // The runtime is made, and calls with a per-call key are not affected.
    expect_key(prompt({.key = Key(kCallKey)}), KeySource::per_call, kCallKey);
    env_.set(kEnvVar, kEnvKey);
    const Error error = prompt_error();
    EXPECT_EQ(error.code(), ErrorCode::credential_source);
    EXPECT_TRUE(test::contains(error.what(), (dir_.path() / "credentials.json").string()))
        << error.what();
    EXPECT_TRUE(test::contains(error.what(), expected)) << error.what();
  }
}

TEST_F(CredentialSources, FileWritableByOthersIsRefused) {
  configure(R"(["environment"])");
  ::chmod((dir_.path() / "credentials.json").c_str(), 0666);
  env_.set(kEnvVar, kEnvKey);
  const Error error = prompt_error();
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "permissions 0666")) << error.what();
  EXPECT_TRUE(test::contains(error.what(), "must not be writable by group or others"))
      << error.what();
  EXPECT_TRUE(test::contains(error.what(), "chmod go-w")) << error.what();

  ::chmod((dir_.path() / "credentials.json").c_str(), 0644);  // readable by others is fine
  runtime_.reset();
  expect_key(prompt(), KeySource::environment, kEnvKey);
}

// Before: a credentials.json of another user (mode 0644) was accepted, and the command it names
// ran as the caller. A symbolic link or a FIFO is refused too (the FIFO without blocking).
TEST_F(CredentialSources, FileOfAnotherUserALinkOrAFifoIsRefused) {
  const std::filesystem::path path = dir_.path() / "credentials.json";
  const std::filesystem::path real = dir_.path() / "real.json";
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"owned by uid 65534",
       [&] {
         configure(R"(["command"])", R"("command": )" + command());
         ASSERT_EQ(::chown(path.c_str(), 65534, static_cast<gid_t>(-1)), 0);
       }},
      {"symbolic link",
       [&] {
         test::write_file(real, R"({"cred-check": {"sources": ["environment"]}})");
         std::filesystem::create_symlink(real, path);
       }},
      {"is a FIFO", [&] { ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0); }},
  };
  for (const auto& [expected, make] : cases) {
    SCOPED_TRACE(expected);
    std::filesystem::remove(path);
    make();
    runtime_.reset();
    const Error error = prompt_error();
    EXPECT_EQ(error.code(), ErrorCode::credential_source);
    EXPECT_TRUE(test::contains(error.what(), expected)) << error.what();
    EXPECT_FALSE(std::filesystem::exists(count_file())) << "the command ran";
  }
}

}  // namespace
}  // namespace llmrt
