// The credential command run for real (fake_credential_command), its output parser and the RFC
// 3339 reader.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <llmrt/plugin.h>
#include <signal.h>
#include <unistd.h>
#include <llmrt/error.hpp>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "credentials/command.hpp"
#include "credentials/rfc3339.hpp"
#include "credentials_test_support.hpp"
#include "test_support.hpp"

namespace llmrt::credentials {
namespace {

using namespace std::chrono_literals;

const std::string kKey = test::secret("sk-command-key-7777");
const std::string kSecondKey = test::secret("sk-command-key-8888");

class CredentialCommand : public ::testing::Test {
 protected:
  void SetUp() override { test::write_file(key_file(), kKey + "\n" + kSecondKey + "\n"); }

  std::filesystem::path key_file() const { return dir_.path() / "keys.txt"; }
  std::filesystem::path count_file() const { return dir_.path() / "count"; }

  // Runs the fake command with `args` after --key-file. The timeout is generous, so that only the
  // test about timeouts depends on timing, even on a loaded machine.
  FetchResult run(std::vector<std::string> args, std::chrono::milliseconds timeout = 30000ms) {
    CommandSpec spec;
    spec.argv = {test::kFakeCredentialCommand.string(), "--key-file", key_file().string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = timeout;
    FetchResult result = run_credential_command(spec);
    if (!result.error.empty()) test::MessageLog::instance().add_message(result.error);
    return result;
  }

  test::TempDir dir_;
};

TEST_F(CredentialCommand, PrintsKeyTokenAndExpiry) {
  const auto before = Credential::Clock::now();
  const FetchResult result = run({"--token", "--expires-in", "3600"});
  ASSERT_TRUE(result.credential) << result.error;
  EXPECT_EQ(result.credential->key.reveal(), kKey);
  EXPECT_EQ(result.credential->session_token.reveal(), kKey + "-session");
  ASSERT_TRUE(result.credential->expires_at);
  EXPECT_GE(*result.credential->expires_at, before + 3599s);
  EXPECT_LE(*result.credential->expires_at, before + 3602s);
}

TEST_F(CredentialCommand, WithoutExpiryTheCredentialDoesNotExpire) {
  const FetchResult result = run({});
  ASSERT_TRUE(result.credential) << result.error;
  EXPECT_FALSE(result.credential->expires_at);
  EXPECT_TRUE(result.credential->session_token.empty());
}

TEST_F(CredentialCommand, CountsInvocationsAndPrintsTheNthKey) {
  const std::vector<std::string> args = {"--count-file", count_file().string()};
  EXPECT_EQ(run(args).credential->key.reveal(), kKey);
  EXPECT_EQ(run(args).credential->key.reveal(), kSecondKey);
  EXPECT_EQ(run(args).credential->key.reveal(), kSecondKey);
  EXPECT_EQ(test::read_file(count_file()), "3");
}

TEST_F(CredentialCommand, TimeoutKillsTheCommand) {
  const auto pid_file = dir_.path() / "pid";
  const auto start = std::chrono::steady_clock::now();
  const FetchResult result = run({"--pid-file", pid_file.string(), "--sleep-ms", "20000"}, 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.credential);
  EXPECT_FALSE(result.fatal);
  EXPECT_TRUE(test::contains(result.error, "did not finish within 300 ms and was killed"))
      << result.error;
  EXPECT_LT(took, 10s);  // 300 ms, and generous room for a loaded machine
  const pid_t pid = std::stoi(test::read_file(pid_file));
  EXPECT_EQ(::kill(pid, 0), -1) << "the command is still running";
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(CredentialCommand, ACommandThatClosesItsOutputButDoesNotExitIsKilledToo) {
  const FetchResult result = run({"--linger-ms", "20000"}, 2000ms);
  EXPECT_FALSE(result.credential);
  EXPECT_TRUE(test::contains(result.error, "closed its output but did not exit within 2000 ms"))
      << result.error;
}

TEST_F(CredentialCommand, NonZeroExitShowsOnlyTheFirstLineOfStderr) {
  const FetchResult result = run({"--exit", "1", "--stderr", "no such account: openai"});
  EXPECT_FALSE(result.credential);
  EXPECT_FALSE(result.fatal);
  EXPECT_TRUE(test::contains(result.error, "it exited with status 1")) << result.error;
  EXPECT_TRUE(test::contains(result.error, "(stderr: no such account: openai)")) << result.error;
  EXPECT_FALSE(test::contains(result.error, "second line")) << result.error;
}

TEST_F(CredentialCommand, StderrIsScrubbedOfTheKeyItPrinted) {
  const FetchResult result = run({"--token", "--stderr-key", "--exit", "1"});
  EXPECT_FALSE(result.credential);
  EXPECT_FALSE(test::contains(result.error, kKey)) << result.error;
  EXPECT_TRUE(test::contains(result.error, "upstream said: bad key [redacted]")) << result.error;
}

TEST_F(CredentialCommand, GarbageOutputIsAFailureThatDoesNotShowTheOutput) {
  const FetchResult result = run({"--garbage"});
  EXPECT_FALSE(result.credential);
  EXPECT_FALSE(result.fatal);
  EXPECT_TRUE(test::contains(result.error, "something other than a JSON object")) << result.error;
  EXPECT_FALSE(test::contains(result.error, "this is not json")) << result.error;
}

// No run of 8 bytes of `secret` anywhere in `text` (the scrubbing rule's promise).
bool holds_a_piece_of(std::string_view text, std::string_view secret) {
  for (std::size_t i = 0; i + 8 <= secret.size(); ++i) {
    if (text.find(secret.substr(i, 8)) != std::string_view::npos) return true;
  }
  return false;
}

// Before: stderr was scrubbed only with a key that parsed, so a command whose stdout was not a
// clean credential showed the key (or token) it echoed on stderr.
TEST_F(CredentialCommand, StderrIsScrubbedOfWhateverStdoutHeldEvenWhenParsingFailed) {
  const std::string token(kKey.rbegin(), kKey.rend());
  test::MessageLog::instance().add_secret(token);
  const std::vector<std::vector<std::string>> cases = {
      {"--garbage", "--stderr-key"},  // key plus junk
      {"--junk-first", "--token", "--reversed-token", "--stderr-key", "--stderr-token"},
      {"--token", "--reversed-token", "--expires-at", "not-a-time", "--stderr-token"},
      {"--token", "--reversed-token", "--stderr-token", "--exit", "1"},  // parsed, then failed
  };
  for (const auto& args : cases) {
    const FetchResult result = run(args);
    SCOPED_TRACE(result.error);
    EXPECT_FALSE(result.credential);
    EXPECT_FALSE(holds_a_piece_of(result.error, kKey));
    EXPECT_FALSE(holds_a_piece_of(result.error, token));
    EXPECT_TRUE(test::contains(result.error, "(stderr: upstream said: bad")) << result.error;
    EXPECT_TRUE(test::contains(result.error, "[redacted]")) << result.error;
  }
}

// A process the command started that leaves its process group (setsid) and keeps stdout open:
// before, the valid credential printed was ignored and the call failed at the timeout.
TEST_F(CredentialCommand, ACredentialIsTakenOnceTheCommandExitedEvenIfAGrandchildKeepsStdout) {
  const auto pid_file = dir_.path() / "child.pid";
  const FetchResult result =
      run({"--child-ms", "60000", "--setsid", "--child-pid-file", pid_file.string()}, 20000ms);
  EXPECT_TRUE(result.credential) << result.error;
  if (result.credential) EXPECT_EQ(result.credential->key.reveal(), kKey);
  const pid_t child = std::stoi(test::read_file(pid_file));
  ::kill(child, SIGKILL);  // out of the command's reach by design; the test cleans up
}

TEST_F(CredentialCommand, AtTheDeadlineTheWholeProcessGroupIsKilled) {
  const auto pid_file = dir_.path() / "child.pid";
  const FetchResult result =
      run({"--child-ms", "60000", "--child-pid-file", pid_file.string(), "--linger-ms", "60000"},
          500ms);
  EXPECT_FALSE(result.credential);
  EXPECT_TRUE(test::contains(result.error, "was killed")) << result.error;
  const pid_t child = std::stoi(test::read_file(pid_file));
  // The grandchild was in the command's group: it is gone (or a zombie about to be reaped by init).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, name, state;
    gone = !(stat >> pid >> name >> state) || state == "Z";
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "the command's child " << child << " outlived the deadline";
  if (!gone) ::kill(child, SIGKILL);
}

// With SIGCHLD ignored the kernel reaps the command itself and waitpid() fails with ECHILD: before,
// that read as status 0, so a command that exited 3 was a success.
TEST_F(CredentialCommand, WithSigchldIgnoredAnUnknownExitStatusIsNeverSuccess) {
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &previous), 0);
  const FetchResult failed = run({"--exit", "3"});
  const FetchResult unknown = run({});
  ::sigaction(SIGCHLD, &previous, nullptr);
  EXPECT_FALSE(failed.credential);
  EXPECT_TRUE(test::contains(failed.error, "SIGCHLD")) << failed.error;
  EXPECT_FALSE(unknown.credential) << "an exit status nobody read was taken as success";
}

TEST_F(CredentialCommand, TooMuchOutputIsAFailure) {
  const FetchResult result = run({"--big"});
  EXPECT_FALSE(result.credential);
  EXPECT_TRUE(test::contains(result.error, "more than 65536 bytes")) << result.error;
}

TEST_F(CredentialCommand, AProgramThatCannotBeStartedIsFatal) {
  for (const std::string& program :
       {std::string("/nonexistent/get-key"), (dir_.path() / "keys.txt").string()}) {
    CommandSpec spec;
    spec.argv = {program};
    const FetchResult result = run_credential_command(spec);
    test::MessageLog::instance().add_message(result.error);
    EXPECT_FALSE(result.credential);
    EXPECT_TRUE(result.fatal) << program;
    EXPECT_TRUE(test::contains(result.error, "could not be started")) << result.error;
  }
}

TEST_F(CredentialCommand, StdinIsDevNullAndNoDescriptorLeaksIntoIt) {
  // A descriptor the host opened without O_CLOEXEC must not reach the command either.
  const int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  const FetchResult result = run({"--check-stdin", "--check-fds"});
  ::close(leaky);
  EXPECT_TRUE(result.credential) << result.error;
}

TEST_F(CredentialCommand, AnInvalidKeyIsAFailureThatDoesNotShowIt) {
  const std::string bad = test::secret("sk-has space-9999");
  test::write_file(key_file(), bad + "\n");
  const FetchResult result = run({});
  EXPECT_FALSE(result.credential);
  EXPECT_TRUE(test::contains(result.error, "contains a space")) << result.error;
}

// ---- The output parser ---------------------------------------------------------------------

TEST(CommandOutput, AcceptsTheDocumentedShapes) {
  const std::string key = test::secret("sk-parse-1234");
  FetchResult minimal = parse_command_output(R"({"key": ")" + key + R"("})");
  ASSERT_TRUE(minimal.credential) << minimal.error;
  EXPECT_EQ(minimal.credential->key.reveal(), key);

  FetchResult nulls =
      parse_command_output(R"({"key": ")" + key + R"(", "token": null, "expires_at": null})");
  ASSERT_TRUE(nulls.credential) << nulls.error;
  EXPECT_FALSE(nulls.credential->expires_at);

  FetchResult full = parse_command_output(R"({"version": 1, "key": ")" + key +
                                          R"(", "token": "tok-1", "expires_at": )"
                                          R"("2030-01-01T00:00:00Z", "extra": [1, 2]})");
  ASSERT_TRUE(full.credential) << full.error;
  EXPECT_EQ(full.credential->session_token.reveal(), "tok-1");
  EXPECT_EQ(*full.credential->expires_at, test::FakeClock::start());
}

// The one session-token limit, LLMRT_MAX_SESSION_TOKEN_SIZE (plugin.h, docs/abi.md, docs/keys.md,
// the conformance check keys.largest_credential): at it is accepted, one byte over is refused.
TEST(CommandOutput, TheSessionTokenLimitIsTheAbisOneNumber) {
  EXPECT_EQ(LLMRT_MAX_SESSION_TOKEN_SIZE, 16384);
  const auto output = [](std::size_t token_size) {
    return R"({"key": "sk-k", "token": ")" + std::string(token_size, 't') + R"("})";
  };
  const FetchResult at_limit = parse_command_output(output(LLMRT_MAX_SESSION_TOKEN_SIZE));
  ASSERT_TRUE(at_limit.credential) << at_limit.error;
  EXPECT_EQ(at_limit.credential->session_token.reveal().size(), LLMRT_MAX_SESSION_TOKEN_SIZE);
  const FetchResult over = parse_command_output(output(LLMRT_MAX_SESSION_TOKEN_SIZE + 1));
  EXPECT_FALSE(over.credential);
  EXPECT_TRUE(test::contains(over.error, "0 to 16384 bytes")) << over.error;
  EXPECT_FALSE(test::contains(over.error, "tttttttt")) << over.error;
}

TEST(CommandOutput, RefusesEverythingElseWithoutEchoingIt) {
  const std::string key = test::secret("sk-parse-5678");
  const std::pair<std::string, std::string> cases[] = {
      {"", "something other than a JSON object"},
      {"[\"" + key + "\"]", "something other than a JSON object"},
      {R"({"token": "x"})", "\"key\" is missing"},
      {R"({"key": 42})", "\"key\" is missing or not a string"},
      {R"({"key": ""})", "is empty"},
      {R"({"key": ")" + key + R"(", "token": 7})", "\"token\" is not a string"},
      {R"({"key": ")" + key + R"(", "token": "a b"})", "printable ASCII"},
      {R"({"key": ")" + key + R"(", "expires_at": 1700000000})", "not a string"},
      {R"({"key": ")" + key + R"(", "expires_at": "tomorrow"})", "not an RFC 3339 time"},
      {R"({"key": ")" + key + R"(" )", "something other than a JSON object"},
  };
  for (const auto& [output, expected] : cases) {
    const FetchResult result = parse_command_output(output);
    test::MessageLog::instance().add_message(result.error);
    EXPECT_FALSE(result.credential) << output;
    EXPECT_TRUE(test::contains(result.error, expected)) << output << " -> " << result.error;
  }
}

TEST(Rfc3339, ReadsUtcOffsetsAndFractions) {
  using std::chrono::sys_days;
  const auto start = test::FakeClock::start();
  EXPECT_EQ(parse_rfc3339("2030-01-01T00:00:00Z"), start);
  EXPECT_EQ(parse_rfc3339("2030-01-01t00:00:00z"), start);
  EXPECT_EQ(parse_rfc3339("2030-01-01 00:00:00Z"), start);
  EXPECT_EQ(parse_rfc3339("2030-01-01T02:30:00+02:30"), start);
  EXPECT_EQ(parse_rfc3339("2029-12-31T19:00:00-05:00"), start);
  EXPECT_EQ(parse_rfc3339("2030-01-01T00:00:00.250Z"), start + 250ms);
  EXPECT_EQ(parse_rfc3339("2030-01-01T00:00:00.123456789123Z"), start + 123456789ns);
  EXPECT_EQ(
      parse_rfc3339("2028-02-29T00:00:00Z"),
      test::FakeClock::TimePoint(sys_days(std::chrono::year(2028) / 2 / 29).time_since_epoch()));
  EXPECT_EQ(format_rfc3339(start + 1500ms), "2030-01-01T00:00:01Z");
}

TEST(Rfc3339, RefusesAnythingElse) {
  for (const char* text :
       {"", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01T00:00Z", "2030-13-01T00:00:00Z",
        "2029-02-29T00:00:00Z", "2030-01-32T00:00:00Z", "2030-01-01T24:00:00Z",
        "2030-01-01T00:60:00Z", "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00+0200",
        "2030-01-01T00:00:00Z trailing", "1700000000", "20300101T000000Z"}) {
    EXPECT_FALSE(parse_rfc3339(text)) << text;
  }
}

}  // namespace
}  // namespace llmrt::credentials
