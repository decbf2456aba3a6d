// The `llmrt` command line, end to end: every promise of the CLI checked against the real binary.
#include "run_cli.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

namespace llmrt::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The first 12 hex digits of SHA-256 of `key`: what the echo model prints for the key it received.
std::string fingerprint(std::string_view key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(key.data(), key.size(), digest.data(), &size, EVP_sha256(), nullptr);
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 12);
}

// What `llmrt prompt TEXT` prints when the echo model received `key`.
std::string echo_with_key(std::string_view text, std::string_view key) {
  return std::string(text) + "\nkey-sha256: " + fingerprint(key) + "\n";
}

void write_file(const fs::path& path, std::string_view contents, fs::perms mode) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
  fs::permissions(path, mode);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

unsigned file_mode(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

// The built test-only plugin `file_name` (eg: "needs_key.so"), wherever the corpus put it.
std::optional<fs::path> find_test_plugin(const std::string& file_name) {
  if (fs::exists(kTestPluginDir / file_name)) return kTestPluginDir / file_name;
  std::error_code ec;
  if (!fs::is_directory(kTestPluginDir, ec)) return std::nullopt;
  for (const auto& entry : fs::recursive_directory_iterator(kTestPluginDir, ec)) {
    if (entry.path().filename() == file_name) return entry.path();
  }
  return std::nullopt;
}

// The error lines of a run's stderr.
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("llmrt: error: ")) lines.push_back(line);
  }
  return lines;
}

// A failed run reports exactly one error line.
void expect_one_error_line(const CliResult& result) {
  EXPECT_EQ(error_lines(result.err).size(), 1u) << "stderr: " << result.err;
}

class CliTest : public ::testing::Test {
 protected:
  CliResult run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    return cli_.run(args, stdin_text);
  }

  // Stores `key` under `name` with `llmrt keys set NAME`.
  void store_key(const std::string& name, const std::string& key) {
    const CliResult result = run({"keys", "set", name}, key + "\n");
    ASSERT_EQ(result.exit_code, 0) << describe(result);
  }

  // Loads the plugins of the test corpus too (broken ones included: they only add warnings).
  // Returns false when the corpus has not been built.
  bool use_test_plugin(const std::string& file_name) {
    const std::optional<fs::path> plugin = find_test_plugin(file_name);
    if (!plugin) return false;
    cli_.set_env("LLMRT_PLUGIN_PATH", plugin->parent_path().string());
    return true;
  }

  CliRunner cli_;
};

// ---- Start-up ----------------------------------------------------------------------------------

// The dynamic loader's own trace (LD_DEBUG=libs) lists every file it tries. A relative name means a
// search relative to the working directory, where anybody may have left a libcrypto.so.3.
TEST_F(CliTest, LibrariesAreNeverSearchedForInTheWorkingDirectory) {
  cli_.set_env("LD_DEBUG", "libs");
  const CliResult result = run({"prompt", "Hello"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  ASSERT_THAT(result.err, HasSubstr("trying file=")) << "no loader trace: " << describe(result);
  std::istringstream trace(result.err);
  for (std::string line; std::getline(trace, line);) {
    const auto tried = line.find("trying file=");
    if (tried == std::string::npos) continue;
    EXPECT_EQ(line.compare(tried + 12, 1, "/"), 0) << "relative library search: " << line;
  }
}

// ---- Prompting ---------------------------------------------------------------------------------

TEST_F(CliTest, PromptEchoesTextWithTrailingNewline) {
  const CliResult result = run({"prompt", "Hello"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "Hello\n");
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, PromptKeepsTheReplysOwnTrailingNewline) {
  const CliResult result = run({"prompt", "Hello\n"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "Hello\n");
}

TEST_F(CliTest, PromptReadsAllOfStdinWhenNoTextIsGiven) {
  const CliResult result = run({"prompt"}, "first line\nsecond line\n");
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "first line\nsecond line\n");
}

TEST_F(CliTest, PromptTextArgumentWinsOverStdin) {
  const CliResult result = run({"prompt", "from argv"}, "from stdin\n");
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "from argv\n");
}

TEST_F(CliTest, StreamingNoStreamAndAsyncGiveTheSameOutput) {
  const std::string text = "one two  three\tfour";
  const std::vector<std::vector<std::string>> variants = {
      {}, {"--no-stream"}, {"--async"}, {"--async", "--no-stream"}};
  for (const auto& flags : variants) {
    std::vector<std::string> args = {"prompt", text};
    args.insert(args.end(), flags.begin(), flags.end());
    const CliResult result = run(args);
    EXPECT_EQ(result.exit_code, 0) << describe(result);
    EXPECT_EQ(result.out, text + "\n") << "flags: " << ::testing::PrintToString(flags);
  }
}

TEST_F(CliTest, AsyncPromptCarriesTheKey) {
  const CliResult result = run({"prompt", "hi", "--async", "--key", "sk-async"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-async"));
}

TEST_F(CliTest, ModelOptionsArePassedToTheModel) {
  const CliResult result = run({"prompt", "slow words", "-o", "delay_ms", "1"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "slow words\n");
}

TEST_F(CliTest, FailingCallExitsOneWithThePluginsMessage) {
  const CliResult result = run({"prompt", "hi", "-o", "fail", "boom"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("boom"));
  expect_one_error_line(result);
}

// `llmrt chat` runs its model as `llmrt prompt` does: --isolation applies to it. The misbehaving
// plugin's `env` model prints an environment variable, which a worker process (given an empty
// environment) does not have and the host does.
TEST_F(CliTest, ChatHonoursTheIsolationFlag) {
  if (!use_test_plugin("misbehaving.so")) GTEST_SKIP() << "test plugins not built";
  cli_.set_env("CHAT_ISOLATION_PROBE", "seen-by-the-host");
  const CliResult in_process =
      run({"--isolation", "in_process", "chat", "-m", "env"}, "CHAT_ISOLATION_PROBE\n!exit\n");
  EXPECT_EQ(in_process.exit_code, 0) << describe(in_process);
  EXPECT_EQ(in_process.out, "seen-by-the-host\n");
  const CliResult isolated =
      run({"--isolation", "process", "chat", "-m", "env"}, "CHAT_ISOLATION_PROBE\n!exit\n");
  EXPECT_EQ(isolated.exit_code, 0) << describe(isolated);
  EXPECT_EQ(isolated.out, "(unset)\n") << "the chat's model ran in the llmrt process itself";
}

// ---- Where the key comes from ------------------------------------------------------------------

// Ctrl-C: the call stops at its next chunk, what was printed stays, and the exit code is 130. The
// echo model writes a word every 100 ms; coreutils' timeout sends SIGINT after 2 s (so the handler
// is long installed, even under sanitizers) and exits with llmrt's status.
class Interrupt : public CliTest {
 protected:
  void expect_interrupted_midway(std::vector<std::string> extra) {
    cli_.set_prefix({"/usr/bin/timeout", "--preserve-status", "-s", "INT", "2"});
    std::string words;
    for (int i = 1; i <= 100; ++i) words += "w" + std::to_string(i) + " ";
    std::vector<std::string> args{"prompt", "-m", "echo", "-o", "delay_ms", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(words);
    const auto started = std::chrono::steady_clock::now();
    const CliResult result = run(args);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
    EXPECT_EQ(result.exit_code, 130) << describe(result);
    EXPECT_THAT(result.err, HasSubstr("llmrt: error: interrupted")) << describe(result);
    EXPECT_THAT(result.out, HasSubstr("w1 ")) << describe(result);
    EXPECT_THAT(result.out, Not(HasSubstr("w100"))) << describe(result);
  }
};

TEST_F(Interrupt, CtrlCStopsAStreamingPrompt) {
  expect_interrupted_midway({});
}

TEST_F(Interrupt, CtrlCStopsAnAsyncPrompt) {
  expect_interrupted_midway({"--async"});
}

TEST_F(Interrupt, CtrlCStopsAPromptInAWorkerProcess) {
  expect_interrupted_midway({"--isolation", "process"});
}

// A call that does not reach its next chunk (the echo model sleeps 10 s between words) is not
// waited for after a second SIGINT: it ends the process at once. The two timeouts send two (the
// outer one signals its whole process group, which the inner one passes on too).
TEST_F(Interrupt, ASecondCtrlCEndsThePromptAtOnce) {
  cli_.set_prefix({"/usr/bin/timeout", "--preserve-status", "-s", "INT", "2", "/usr/bin/timeout",
                   "--preserve-status", "-s", "INT", "3"});
  const auto started = std::chrono::steady_clock::now();
  const CliResult result = run({"prompt", "-m", "echo", "-o", "delay_ms", "10000", "a b c"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
  EXPECT_EQ(result.exit_code, 130) << describe(result);
  EXPECT_THAT(result.err, HasSubstr("llmrt: error: interrupted")) << describe(result);
}

TEST_F(CliTest, KeyFlagReachesTheModel) {
  const CliResult result = run({"prompt", "hi", "--key", "sk-flag"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-flag"));
}

TEST_F(CliTest, KeyFlagWithEqualsSignReachesTheModel) {
  const CliResult result = run({"prompt", "hi", "--key=sk-equals"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-equals"));
}

TEST_F(CliTest, KeyFileReachesTheModelWithoutItsTrailingNewline) {
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, "sk-from-file\n", fs::perms::owner_read | fs::perms::owner_write);
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-from-file"));
}

TEST_F(CliTest, KeyFileCrLfEndingIsStripped) {
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, "sk-crlf\r\n", fs::perms::owner_read | fs::perms::owner_write);
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-crlf"));
}

TEST_F(CliTest, KeyFileWithoutNewlineIsUsedAsIs) {
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, "sk-bare", fs::perms::owner_read | fs::perms::owner_write);
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-bare"));
}

TEST_F(CliTest, MissingKeyFileExitsOneNamingTheFile) {
  const fs::path file = cli_.temp() / "no-such-key.txt";
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr(file.string()));
  expect_one_error_line(result);
}

TEST_F(CliTest, KeyNameUsesTheStoredKey) {
  store_key("work", "sk-named");
  const CliResult result = run({"prompt", "hi", "--key-name", "work"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-named"));
}

TEST_F(CliTest, KeyNameThatIsNotStoredExitsOneNamingIt) {
  const CliResult result = run({"prompt", "hi", "--key-name", "nobody-stored-this"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("nobody-stored-this"));
  expect_one_error_line(result);
}

TEST_F(CliTest, EnvironmentKeyReachesTheModel) {
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  const CliResult result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-env"));
}

TEST_F(CliTest, KeysFileEntryOfTheModelReachesTheModel) {
  store_key("echo", "sk-stored");
  const CliResult result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-stored"));
}

TEST_F(CliTest, NoKeyAnywhereMeansNoKeyIsSent) {
  const CliResult result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "hi\n");
}

TEST_F(CliTest, PerCallKeyBeatsEnvironment) {
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  const CliResult result = run({"prompt", "hi", "--key", "sk-flag"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-flag"));
}

TEST_F(CliTest, PerCallKeyFileBeatsEnvironment) {
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, "sk-from-file\n", fs::perms::owner_read | fs::perms::owner_write);
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-from-file"));
}

TEST_F(CliTest, PerCallKeyBeatsKeysFile) {
  store_key("echo", "sk-stored");
  const CliResult result = run({"prompt", "hi", "--key", "sk-flag"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-flag"));
}

TEST_F(CliTest, EnvironmentBeatsKeysFile) {
  store_key("echo", "sk-stored");
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  const CliResult result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-env"));
}

TEST_F(CliTest, KeyNameBeatsEnvironment) {
  store_key("work", "sk-named");
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  const CliResult result = run({"prompt", "hi", "--key-name", "work"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, echo_with_key("hi", "sk-named"));
}

// ---- Models that do not take keys, and models that need one ------------------------------------

TEST_F(CliTest, KeyForLegacyModelIsNotSentAndSaysSo) {
  const CliResult result = run({"prompt", "-m", "legacy-echo", "hi", "--key", "sk-legacy-9"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "hi\n");
  EXPECT_THAT(result.err, HasSubstr("llmrt: warning: "));
  EXPECT_THAT(result.err, HasSubstr("key"));
  EXPECT_THAT(result.err, Not(HasSubstr("sk-legacy-9")));
}

TEST_F(CliTest, MissingRequiredKeyNamesEveryWayToGiveOne) {
  if (!use_test_plugin("needs_key.so")) GTEST_SKIP() << "needs_key.so is not built";
  const CliResult result = run({"prompt", "-m", "needs-key", "hi"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  const std::vector<std::string> errors = error_lines(result.err);
  ASSERT_EQ(errors.size(), 1u) << describe(result);
  EXPECT_THAT(errors[0], HasSubstr("--key"));
  EXPECT_THAT(errors[0], HasSubstr("LLMRT_NEEDS_KEY"));
  EXPECT_THAT(errors[0], HasSubstr("llmrt keys set needs-key"));
}

TEST_F(CliTest, RequiredKeyFromEnvironmentReachesTheModel) {
  if (!use_test_plugin("needs_key.so")) GTEST_SKIP() << "needs_key.so is not built";
  cli_.set_env("LLMRT_NEEDS_KEY", "sk-needed");
  const CliResult result = run({"prompt", "-m", "needs-key", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "key-sha256: " + fingerprint("sk-needed") + "\n");
}

TEST_F(CliTest, PluginErrorThatEchoesTheKeyIsScrubbed) {
  if (!use_test_plugin("key_leak.so")) GTEST_SKIP() << "key_leak.so is not built";
  const CliResult result = run({"prompt", "-m", "key-leak", "hi", "--key", "sk-leaky-42"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  expect_one_error_line(result);
  EXPECT_THAT(result.err, HasSubstr("upstream said"));
  EXPECT_THAT(result.err, Not(HasSubstr("sk-leaky-42")));
}

// ---- Invalid keys ------------------------------------------------------------------------------

TEST_F(CliTest, InvalidKeysAreRefusedWithoutBeingShown) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"space", "sk-has space"},
      {"control character", std::string("sk-ctl\x01") + "xyz"},
      {"too long", std::string(5000, 'Q')},
  };
  for (const auto& [what, key] : cases) {
    const CliResult result = run({"prompt", "hi", "--key", key});
    EXPECT_EQ(result.exit_code, 1) << what << "\n" << describe(result);
    EXPECT_EQ(result.out, "") << what;
    expect_one_error_line(result);
    EXPECT_THAT(result.err, HasSubstr("key")) << what;
    if (!key.empty()) {
      EXPECT_THAT(result.err, Not(HasSubstr(key))) << what;
      EXPECT_THAT(result.err, Not(HasSubstr(key.substr(0, 6) == "sk-has" ? "has space" : key)));
    }
    EXPECT_THAT(result.err, Not(HasSubstr(std::string(40, 'Q')))) << what;
  }
}

TEST_F(CliTest, TooLongKeyFileIsRefused) {
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, std::string(5000, 'Q') + "\n", fs::perms::owner_read | fs::perms::owner_write);
  const CliResult result = run({"prompt", "hi", "--key-file", file.string()});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, Not(HasSubstr(std::string(40, 'Q'))));
  expect_one_error_line(result);
}

TEST_F(CliTest, InvalidEnvironmentKeyIsRefusedNamingTheVariable) {
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env with space");
  const CliResult result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, HasSubstr("LLMRT_ECHO_KEY"));
  EXPECT_THAT(result.err, Not(HasSubstr("with space")));
  expect_one_error_line(result);
}

// ---- The keys commands -------------------------------------------------------------------------

TEST_F(CliTest, KeysSetGetListPathRemoveRoundTrip) {
  store_key("beta", "sk-beta");
  store_key("alpha", "sk-alpha");

  CliResult result = run({"keys", "list"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "alpha\nbeta\n");

  result = run({"keys", "get", "alpha"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "sk-alpha\n");

  result = run({"keys", "path"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, cli_.keys_file().string() + "\n");

  result = run({"keys", "remove", "alpha"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);

  result = run({"keys", "list"});
  EXPECT_EQ(result.out, "beta\n");

  result = run({"keys", "get", "alpha"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("alpha"));
  expect_one_error_line(result);
}

TEST_F(CliTest, KeysSetReplacesAPreviousKey) {
  store_key("echo", "sk-old");
  store_key("echo", "sk-new");
  const CliResult result = run({"keys", "get", "echo"});
  EXPECT_EQ(result.out, "sk-new\n");
}

TEST_F(CliTest, KeysSetStripsOneTrailingNewlineOnly) {
  CliResult result = run({"keys", "set", "crlf"}, "sk-crlf\r\n");
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  result = run({"keys", "get", "crlf"});
  EXPECT_EQ(result.out, "sk-crlf\n");

  result = run({"keys", "set", "bare"}, "sk-bare");
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  result = run({"keys", "get", "bare"});
  EXPECT_EQ(result.out, "sk-bare\n");
}

TEST_F(CliTest, KeysSetTakesTheValueFromStdinNeverFromArguments) {
  const CliResult result = run({"keys", "set", "echo", "sk-on-argv"}, "sk-stdin\n");
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_FALSE(fs::exists(cli_.keys_file()));
}

TEST_F(CliTest, KeysSetRefusesAnInvalidKey) {
  const CliResult result = run({"keys", "set", "echo"}, "sk-has space\n");
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, Not(HasSubstr("has space")));
  expect_one_error_line(result);
}

TEST_F(CliTest, KeysFileIsCreatedWithMode0600) {
  store_key("echo", "sk-mode");
  ASSERT_TRUE(fs::exists(cli_.keys_file()));
  EXPECT_EQ(file_mode(cli_.keys_file()), 0600u);
  EXPECT_EQ(file_mode(cli_.user_dir()) & 077u, 0u) << "the user directory is open to others";
}

// The user directory holds keys and every prompt and reply: whichever command makes it, it is made
// 0700, and the log 0600, whatever the umask (022 here, the usual one, which SQLite and mkdir
// obey).
class PrivateUserDirectory : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    cli_.set_prefix({"/bin/sh", "-c", "umask 022; exec \"$0\" \"$@\""});
  }

  void expect_only_the_owner_may_enter_it() const {
    ASSERT_TRUE(fs::is_directory(cli_.user_dir()));
    EXPECT_EQ(file_mode(cli_.user_dir()), 0700u);
  }
};

TEST_F(PrivateUserDirectory, TheFirstPromptMakesAPrivateDirectoryAndLog) {
  ASSERT_EQ(run({"prompt", "-m", "echo", "my private prompt"}).exit_code, 0);
  ASSERT_TRUE(fs::exists(cli_.user_dir() / "logs.db"));
  EXPECT_EQ(file_mode(cli_.user_dir() / "logs.db"), 0600u);
  expect_only_the_owner_may_enter_it();
  // SQLite gives its -wal and -shm files the database's mode, so a reader racing a writer sees
  // those private too.
  ASSERT_EQ(run({"prompt", "-m", "echo", "another"}).exit_code, 0);
  for (const auto& entry : fs::directory_iterator(cli_.user_dir())) {
    if (entry.path().filename().string().starts_with("logs.db")) {
      EXPECT_EQ(file_mode(entry.path()), 0600u) << entry.path();
    }
  }
}

TEST_F(PrivateUserDirectory, TurningLogsOffMakesAPrivateDirectory) {
  ASSERT_EQ(run({"logs", "off"}).exit_code, 0);
  expect_only_the_owner_may_enter_it();
}

TEST_F(PrivateUserDirectory, SettingTheDefaultModelMakesAPrivateDirectory) {
  ASSERT_EQ(run({"models", "default", "echo"}).exit_code, 0);
  expect_only_the_owner_may_enter_it();
}

TEST_F(PrivateUserDirectory, StoringAKeyMakesAPrivateDirectory) {
  store_key("echo", "sk-private-dir");
  expect_only_the_owner_may_enter_it();
}

TEST_F(CliTest, KeysRemoveOfAnAbsentNameExitsOne) {
  store_key("present", "sk-present");
  const CliResult result = run({"keys", "remove", "absent"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, HasSubstr("absent"));
  expect_one_error_line(result);
}

TEST_F(CliTest, KeysListWithoutAKeysFileIsEmpty) {
  const CliResult result = run({"keys", "list"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, KeysCommandsWorkEvenWhenPluginsAreBroken) {
  cli_.set_env("LLMRT_PLUGIN_PATH", kTestPluginDir.string());
  store_key("echo", "sk-works");
  const CliResult result = run({"keys", "list"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "echo\n");
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, KeysFileOpenToOthersIsRefused) {
  write_file(cli_.keys_file(), R"({"echo": "sk-open-file"})",
             fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                 fs::perms::others_read);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"keys", "list"}, {"keys", "get", "echo"}}) {
    const CliResult result = run(args);
    EXPECT_EQ(result.exit_code, 1) << describe(result);
    EXPECT_THAT(result.err, HasSubstr("permissions 0644"));
    EXPECT_THAT(result.err, HasSubstr("too open"));
    EXPECT_THAT(result.out + result.err, Not(HasSubstr("sk-open-file")));
    expect_one_error_line(result);
  }
}

TEST_F(CliTest, CorruptKeysFileIsLeftUntouched) {
  const std::string corrupt = "{\"echo\": \"sk-corrupt\", oops";
  write_file(cli_.keys_file(), corrupt, fs::perms::owner_read | fs::perms::owner_write);

  CliResult result = run({"keys", "set", "other"}, "sk-other\n");
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  expect_one_error_line(result);
  EXPECT_EQ(read_file(cli_.keys_file()), corrupt);

  result = run({"keys", "remove", "echo"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(read_file(cli_.keys_file()), corrupt);

  result = run({"prompt", "hi"});
  EXPECT_THAT(result.out + result.err, Not(HasSubstr("sk-corrupt")));
  EXPECT_EQ(read_file(cli_.keys_file()), corrupt);
  EXPECT_EQ(file_mode(cli_.keys_file()), 0600u);
}

// ---- Usage errors and runtime errors -----------------------------------------------------------

TEST_F(CliTest, UnknownFlagExitsTwo) {
  const CliResult result = run({"prompt", "--no-such-flag", "hi"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_EQ(result.out, "");
  expect_one_error_line(result);
  EXPECT_THAT(result.err, HasSubstr("--no-such-flag"));
}

TEST_F(CliTest, MutuallyExclusiveKeyFlagsExitTwo) {
  const fs::path file = cli_.temp() / "key.txt";
  write_file(file, "sk-file\n", fs::perms::owner_read | fs::perms::owner_write);
  const std::vector<std::vector<std::string>> combinations = {
      {"--key", "sk-x", "--key-name", "work"},
      {"--key", "sk-x", "--key-file", file.string()},
      {"--key-file", file.string(), "--key-name", "work"},
  };
  for (const auto& flags : combinations) {
    std::vector<std::string> args = {"prompt", "hi"};
    args.insert(args.end(), flags.begin(), flags.end());
    const CliResult result = run(args);
    EXPECT_EQ(result.exit_code, 2) << describe(result);
    EXPECT_EQ(result.out, "");
    expect_one_error_line(result);
    EXPECT_THAT(result.err, Not(HasSubstr("sk-x")));
  }
}

TEST_F(CliTest, MissingSubcommandExitsTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"keys"}, {"no-such-command"}}) {
    const CliResult result = run(args);
    EXPECT_EQ(result.exit_code, 2) << describe(result);
    expect_one_error_line(result);
  }
}

TEST_F(CliTest, MissingArgumentExitsTwo) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"keys", "get"},
                                               {"keys", "set"},
                                               {"plugins", "inspect"},
                                               {"prompt", "hi", "-o", "delay_ms"},
                                               {"prompt", "hi", "--key"}}) {
    const CliResult result = run(args);
    EXPECT_EQ(result.exit_code, 2) << describe(result);
    expect_one_error_line(result);
  }
}

TEST_F(CliTest, HelpAndVersionExitZero) {
  CliResult result = run({"--help"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_THAT(result.out, HasSubstr("prompt"));

  result = run({"--version"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_THAT(result.out, HasSubstr("llmrt "));
  EXPECT_THAT(result.out, HasSubstr("2.2"));
}

TEST_F(CliTest, UnknownModelExitsOneNamingIt) {
  const CliResult result = run({"prompt", "-m", "no-such-model", "hi"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("no-such-model"));
  expect_one_error_line(result);
}

TEST_F(CliTest, UnknownOptionIsRefusedNamingIt) {
  const CliResult result = run({"prompt", "hi", "-o", "nope", "1"});
  EXPECT_TRUE(result.exit_code == 1 || result.exit_code == 2) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("nope"));
  expect_one_error_line(result);
}

TEST_F(CliTest, IllTypedOptionIsRefusedNamingIt) {
  const CliResult result = run({"prompt", "hi", "-o", "delay_ms", "soon"});
  EXPECT_TRUE(result.exit_code == 1 || result.exit_code == 2) << describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("delay_ms"));
  expect_one_error_line(result);
}

// ---- Models and plugins ------------------------------------------------------------------------

const boost::json::object* find_by(const boost::json::array& list, const char* field,
                                   std::string_view value) {
  for (const boost::json::value& item : list) {
    const auto* object = item.if_object();
    if (object == nullptr) continue;
    const auto* found = object->if_contains(field);
    if (found != nullptr && found->is_string() && found->as_string() == value) return object;
  }
  return nullptr;
}

TEST_F(CliTest, ModelsJsonListsTheBundledModels) {
  const CliResult result = run({"models", "--json"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(result.out, ec);
  ASSERT_FALSE(ec) << result.out;
  ASSERT_TRUE(json.is_array()) << result.out;

  const auto* echo = find_by(json.as_array(), "id", "echo");
  ASSERT_NE(echo, nullptr) << result.out;
  EXPECT_EQ(echo->at("accepts_key"), true);
  EXPECT_EQ(echo->at("abi"), "2.2");
  EXPECT_EQ(echo->at("plugin"), "echo");
  EXPECT_EQ(echo->at("key_name"), "echo");
  EXPECT_EQ(echo->at("key_env_var"), "LLMRT_ECHO_KEY");
  EXPECT_EQ(echo->at("streaming"), true);

  const auto* legacy = find_by(json.as_array(), "id", "legacy-echo");
  ASSERT_NE(legacy, nullptr) << result.out;
  EXPECT_EQ(legacy->at("accepts_key"), false);
  EXPECT_EQ(legacy->at("abi"), "1.0");
}

TEST_F(CliTest, ModelsTableListsTheBundledModels) {
  const CliResult result = run({"models"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_THAT(result.out, HasSubstr("echo"));
  EXPECT_THAT(result.out, HasSubstr("legacy-echo"));
  EXPECT_THAT(result.out, HasSubstr("LLMRT_ECHO_KEY"));
}

TEST_F(CliTest, DefaultModelCanBeReadAndChanged) {
  CliResult result = run({"models", "default"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "echo\n");

  result = run({"models", "default", "legacy-echo"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);

  result = run({"models", "default"});
  EXPECT_EQ(result.out, "legacy-echo\n");

  // legacy-echo, unlike echo, never receives the key from the environment.
  cli_.set_env("LLMRT_ECHO_KEY", "sk-env");
  result = run({"prompt", "hi"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "hi\n");
}

TEST_F(CliTest, UnknownDefaultModelIsRefused) {
  const CliResult result = run({"models", "default", "no-such-model"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, HasSubstr("no-such-model"));
  expect_one_error_line(result);
  EXPECT_EQ(run({"models", "default"}).out, "echo\n");
}

TEST_F(CliTest, PluginsListsTheBundledPlugins) {
  const CliResult result = run({"plugins", "--json"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(result.out, ec);
  ASSERT_FALSE(ec) << result.out;
  const auto& plugins = json.at("plugins").as_array();
  const auto* echo = find_by(plugins, "name", "echo");
  ASSERT_NE(echo, nullptr) << result.out;
  EXPECT_EQ(echo->at("version"), "1.0.0");
  EXPECT_EQ(echo->at("abi"), "2.2");
  EXPECT_EQ(echo->at("models").as_array().at(0), "echo");
  EXPECT_NE(find_by(plugins, "name", "legacy-echo"), nullptr) << result.out;
  EXPECT_TRUE(json.at("errors").as_array().empty()) << result.out;

  const CliResult table = run({"plugins"});
  EXPECT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_THAT(table.out, HasSubstr("legacy-echo"));
}

TEST_F(CliTest, BrokenPluginsAreSkippedWithAWarning) {
  const std::optional<fs::path> broken = find_test_plugin("not_a_library.so");
  if (!broken) GTEST_SKIP() << "not_a_library.so is not built";
  cli_.set_env("LLMRT_PLUGIN_PATH", broken->parent_path().string());

  CliResult result = run({"plugins", "--json"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_THAT(result.err, HasSubstr("llmrt: warning: skipped plugin " + broken->string() + ": "));
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(result.out, ec);
  ASSERT_FALSE(ec) << result.out;
  EXPECT_NE(find_by(json.at("errors").as_array(), "path", broken->string()), nullptr) << result.out;

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"prompt", "hi"}, {"models"}, {"plugins"}}) {
    result = run(args);
    EXPECT_EQ(result.exit_code, 0) << describe(result);
    EXPECT_THAT(result.err, HasSubstr("llmrt: warning: skipped plugin " + broken->string()));
    EXPECT_TRUE(error_lines(result.err).empty()) << describe(result);
  }
  EXPECT_EQ(run({"prompt", "hi"}).out, "hi\n");
}

TEST_F(CliTest, InspectShowsTheEntrySymbolAndModels) {
  const fs::path echo = kBundledPluginDir / "echo.so";
  CliResult result = run({"plugins", "inspect", echo.string()});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_THAT(result.out, HasSubstr("llmrt_plugin_entry"));
  EXPECT_THAT(result.out, HasSubstr("echo"));
  EXPECT_THAT(result.out, HasSubstr("1.0.0"));
  EXPECT_THAT(result.out, HasSubstr("2.2"));
  EXPECT_THAT(result.out, HasSubstr("accepts-key"));

  result = run({"plugins", "inspect", "--json", echo.string()});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(result.out, ec);
  ASSERT_FALSE(ec) << result.out;
  const auto& symbols = json.at("exported_symbols").as_array();
  EXPECT_NE(std::find(symbols.begin(), symbols.end(), boost::json::value("llmrt_plugin_entry")),
            symbols.end())
      << result.out;
  EXPECT_EQ(json.at("plugin").at("name"), "echo");
  EXPECT_EQ(json.at("models").at(0).at("accepts_key"), true);
  EXPECT_TRUE(json.at("error").is_null());
}

TEST_F(CliTest, InspectOfLegacyPluginShowsAbiOne) {
  const CliResult result =
      run({"plugins", "inspect", "--json", (kBundledPluginDir / "legacy-echo.so").string()});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const boost::json::value json = boost::json::parse(result.out);
  EXPECT_EQ(json.at("plugin").at("abi"), "1.0");
  EXPECT_EQ(json.at("models").at(0).at("accepts_key"), false);
}

TEST_F(CliTest, InspectOfANonLibraryExitsOne) {
  const std::optional<fs::path> broken = find_test_plugin("not_a_library.so");
  if (!broken) GTEST_SKIP() << "not_a_library.so is not built";
  const CliResult result = run({"plugins", "inspect", broken->string()});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, HasSubstr(broken->string()));
  expect_one_error_line(result);
}

TEST_F(CliTest, InspectOfAMissingFileExitsOne) {
  const fs::path missing = cli_.temp() / "missing.so";
  const CliResult result = run({"plugins", "inspect", missing.string()});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_THAT(result.err, HasSubstr(missing.string()));
  expect_one_error_line(result);
}

// ---- The key never leaks -----------------------------------------------------------------------

TEST_F(CliTest, KeyNeverAppearsInAnyOutput) {
  const std::string canary = "sk-CANARY-7f3a9";
  const fs::path key_file = cli_.temp() / "canary.txt";
  write_file(key_file, canary + "\n", fs::perms::owner_read | fs::perms::owner_write);
  const bool have_needs_key = find_test_plugin("needs_key.so").has_value();

  struct Case {
    std::vector<std::string> args;
    std::string stdin_text;
    std::map<std::string, std::string> env;
  };
  const std::map<std::string, std::string> env_key = {{"LLMRT_ECHO_KEY", canary}};
  std::vector<Case> cases = {
      {{"prompt", "hi", "--key", canary}, "", {}},
      {{"prompt", "hi", "--key=" + canary}, "", {}},
      {{"prompt", "hi", "--key", canary, "--no-stream"}, "", {}},
      {{"prompt", "hi", "--key", canary, "--async"}, "", {}},
      {{"prompt", "--key", canary}, "from stdin\n", {}},
      {{"prompt", "hi", "--key-file", key_file.string()}, "", {}},
      {{"prompt", "hi", "--key", canary, "-m", "legacy-echo"}, "", {}},
      {{"prompt", "hi", "--key", canary, "-m", "no-such-model"}, "", {}},
      {{"prompt", "hi", "--key", canary, "-o", "fail", "boom"}, "", {}},
      {{"prompt", "hi", "--key", canary, "-o", "nope", "1"}, "", {}},
      {{"prompt", "hi", "--key", canary, "-o", "delay_ms", "soon"}, "", {}},
      {{"prompt", "hi", "--key", canary, "--key-name", "echo"}, "", {}},
      {{"prompt", "hi", "--key", canary, "--key-file", key_file.string()}, "", {}},
      {{"prompt", "hi", "--key", canary, "--no-such-flag"}, "", {}},
      {{"prompt", "hi", "--key", canary + " x"}, "", {}},
      {{"prompt", "hi", "--key", canary + "\x01"}, "", {}},
      {{"prompt", "hi", "--key", canary, "extra", "words"}, "", {}},
      {{"prompt", "hi"}, "", env_key},
      {{"prompt", "hi", "-o", "fail", "boom"}, "", env_key},
      {{"prompt", "hi", "-m", "legacy-echo"}, "", env_key},
      {{"prompt", "hi"}, "", {{"LLMRT_ECHO_KEY", canary + " x"}}},
      {{"keys", "set", "echo"}, canary + "\n", {}},
      {{"keys", "set", "echo"}, canary + "\n", {}},  // replacing it
      {{"keys", "set", "bad name!"}, canary + "\n", {}},
      {{"keys", "set", "spaced"}, canary + " x\n", {}},
      {{"prompt", "hi"}, "", {}},
      {{"prompt", "hi", "--key-name", "echo"}, "", {}},
      {{"prompt", "hi", "--key-name", "echo", "-o", "fail", "boom"}, "", {}},
      {{"prompt", "hi", "--key-name", "missing"}, "", {}},
      {{"keys", "list"}, "", {}},
      {{"keys", "path"}, "", {}},
      {{"keys", "remove", "missing"}, "", {}},
      {{"models"}, "", env_key},
      {{"models", "--json"}, "", env_key},
      {{"models", "default"}, "", env_key},
      {{"plugins"}, "", env_key},
      {{"plugins", "--json"}, "", env_key},
      {{"plugins", "inspect", key_file.string()}, "", env_key},
      {{"--version"}, "", env_key},
  };
  if (have_needs_key) {
    const std::string dir = find_test_plugin("needs_key.so")->parent_path().string();
    cases.push_back(
        {{"prompt", "-m", "needs-key", "hi", "--key", canary}, "", {{"LLMRT_PLUGIN_PATH", dir}}});
    cases.push_back({{"prompt", "-m", "needs-key", "hi"},
                     "",
                     {{"LLMRT_PLUGIN_PATH", dir}, {"LLMRT_NEEDS_KEY", canary}}});
    cases.push_back({{"prompt", "-m", "needs-key", "hi", "--key-name", "echo"},
                     "",
                     {{"LLMRT_PLUGIN_PATH", dir}}});
    // key-leak puts the key it receives into its error message; the runtime must scrub it.
    cases.push_back(
        {{"prompt", "-m", "key-leak", "hi", "--key", canary}, "", {{"LLMRT_PLUGIN_PATH", dir}}});
    cases.push_back({{"prompt", "-m", "key-leak", "hi", "--async", "--key", canary},
                     "",
                     {{"LLMRT_PLUGIN_PATH", dir}}});
    cases.push_back({{"prompt", "-m", "key-leak", "hi"},
                     "",
                     {{"LLMRT_PLUGIN_PATH", dir}, {"LLMRT_KEY_LEAK_KEY", canary}}});
  }

  for (const Case& c : cases) {
    CliRunner& runner = cli_;
    for (const auto& [name, value] : c.env) runner.set_env(name, value);
    const CliResult result = runner.run(c.args, c.stdin_text);
    for (const auto& [name, value] : c.env) runner.unset_env(name);
    EXPECT_LT(result.exit_code, 3) << ::testing::PrintToString(c.args) << "\n" << describe(result);
    EXPECT_THAT(result.out, Not(HasSubstr(canary))) << ::testing::PrintToString(c.args);
    EXPECT_THAT(result.err, Not(HasSubstr(canary))) << ::testing::PrintToString(c.args);
    EXPECT_THAT(result.err, Not(HasSubstr("CANARY"))) << ::testing::PrintToString(c.args);
  }

  // The one command that prints a key, on purpose.
  const CliResult shown = run({"keys", "get", "echo"});
  EXPECT_EQ(shown.out, canary + "\n");

  // A stored key open to others is refused without being shown.
  fs::permissions(cli_.keys_file(), fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"prompt", "hi"}, {"keys", "list"}, {"keys", "get", "echo"}}) {
    const CliResult result = run(args);
    EXPECT_THAT(result.out + result.err, Not(HasSubstr("CANARY")))
        << ::testing::PrintToString(args);
  }
}

// A key typed where no key goes, as a value or an extra argument, is not quoted back by the usage
// error (docs/keys.md, "What is never printed"); a short argument still is, so that a typo shows.
TEST_F(CliTest, AKeyTypedWhereNoKeyGoesIsNotQuotedBack) {
  const std::string key = "sk-proj-MISPLACED" + std::string(32, 'x') + "42";
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  const std::string not_shown = "[" + std::to_string(key.size()) + " characters, not shown]";
  const std::vector<Case> cases = {
      {{"keys", "set", "openai", key}, 2, "reads the key from standard input"},
      {{"keys", "set", "openai", "--value", key}, 2, "reads the key from standard input"},
      {{"keys", "set", "--version", "pending", "openai", key}, 2, "not shown"},
      {{"prompt", "hi", "--key-file", key}, 1, "cannot read key file " + not_shown},
      {{"serve", "--port", key}, 2, "--port: Value " + not_shown},
      {{"serve", "--port=" + key}, 2, "--port: Value " + not_shown},
      {{"models", "--json=" + key}, 2, not_shown},
      {{"prompt", "hi", "--no-such-flag", key}, 2, not_shown},
  };
  for (const Case& c : cases) {
    const CliResult result = run(c.args);
    EXPECT_EQ(result.exit_code, c.exit_code) << ::testing::PrintToString(c.args) << "\n"
                                             << describe(result);
    EXPECT_THAT(result.err, HasSubstr(c.says)) << ::testing::PrintToString(c.args);
    EXPECT_THAT(result.out + result.err, Not(HasSubstr("MISPLACED")))
        << ::testing::PrintToString(c.args);
  }
  EXPECT_THAT(run({"keys", "list"}).out, Not(HasSubstr("openai")));  // nothing was stored

  // A key given as the name of a stored key is not quoted back either, and is not stored as one.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"prompt", "hi", "--key-name", key},
        {"keys", "get", key},
        {"keys", "remove", key},
        {"keys", "set", key}}) {
    const CliResult result = run(args, "sk-the-value\n");
    EXPECT_NE(result.exit_code, 0) << ::testing::PrintToString(args);
    EXPECT_THAT(result.err, HasSubstr("not shown")) << ::testing::PrintToString(args);
    EXPECT_THAT(result.out + result.err, Not(HasSubstr("MISPLACED")))
        << ::testing::PrintToString(args);
  }
  EXPECT_THAT(run({"keys", "list"}).out, Not(HasSubstr("MISPLACED")));

  // Short arguments, and paths, are quoted as they were typed.
  EXPECT_THAT(run({"prompt", "hi", "--no-such-flag"}).err, HasSubstr("--no-such-flag"));
  EXPECT_THAT(run({"serve", "--port", "http"}).err, HasSubstr("Value http not in range"));
  const std::string missing = (cli_.temp() / "no-such-directory" / key).string();
  EXPECT_THAT(run({"prompt", "hi", "--key-file", missing}).err, HasSubstr(missing));
}

}  // namespace
}  // namespace llmrt::test
