// `llmrt keys` with versions, end to end: set --version/--weight, versions, promote, weight,
// remove --version; 20 processes adding versions at once lose nothing; no key in any output.
#include "run_cli.hpp"

#include <sys/stat.h>
#include <llmrt/key.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace llmrt::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

class KeyVersionsCli : public ::testing::Test {
 protected:
  // Runs the CLI and checks that nothing it printed contains any key the test used.
  CliResult run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    CliResult result = cli_.run(args, stdin_text);
    for (const std::string& key : keys_) {
      EXPECT_THAT(result.out, Not(HasSubstr(key))) << "stdout of llmrt " << args[0];
      EXPECT_THAT(result.err, Not(HasSubstr(key))) << "stderr of llmrt " << args[0];
    }
    return result;
  }
  std::string key(std::string value) {
    keys_.push_back(value);
    return value;
  }

  CliRunner cli_;
  std::vector<std::string> keys_;
};

TEST_F(KeyVersionsCli, AWorkedRotationShowsLabelsWeightsAndFingerprintsButNeverAKey) {
  const std::string old_key = key("sk-cli-old-key-000001");
  const std::string new_key = key("sk-cli-new-key-000002");
  ASSERT_EQ(run({"keys", "set", "openai"}, old_key).exit_code, 0);
  const std::string plain = read_all(cli_.keys_file());
  // Reads leave a plain file exactly as it was.
  EXPECT_EQ(run({"keys", "versions", "openai"}).exit_code, 0);
  EXPECT_EQ(run({"keys", "list"}).exit_code, 0);
  EXPECT_EQ(read_all(cli_.keys_file()), plain);

  ASSERT_EQ(
      run({"keys", "set", "openai", "--version", "pending", "--weight", "10"}, new_key).exit_code,
      0);
  CliResult listed = run({"keys", "versions", "openai"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("LABEL"));
  EXPECT_THAT(listed.out, HasSubstr("current  -       90%"));
  EXPECT_THAT(listed.out, HasSubstr("pending  10      10%"));
  EXPECT_THAT(listed.out, HasSubstr("sha256:" + llmrt::sha256_prefix(new_key)));

  ASSERT_EQ(run({"keys", "weight", "openai", "pending", "50"}).exit_code, 0);
  EXPECT_THAT(run({"keys", "versions", "openai"}).out, HasSubstr("pending  50      50%"));
  ASSERT_EQ(run({"keys", "promote", "openai", "pending"}).exit_code, 0);
  listed = run({"keys", "versions", "openai"});
  EXPECT_THAT(listed.out, HasSubstr("previous  -       0%"));
  EXPECT_THAT(listed.out, HasSubstr("current   -       100%"));
  const CliResult refused = run({"keys", "remove", "openai", "--version", "current"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("promote another first"));
  ASSERT_EQ(run({"keys", "remove", "openai", "--version", "previous"}).exit_code, 0);
  const CliResult got = cli_.run({"keys", "get", "openai"});  // the one place a key is printed
  EXPECT_EQ(got.out, new_key + "\n");
  struct stat status {};
  ASSERT_EQ(::stat(cli_.keys_file().c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);

  // Bad input: a clear error, and the file is unchanged.
  const std::string before = read_all(cli_.keys_file());
  EXPECT_EQ(run({"keys", "set", "openai", "--weight", "5"}, new_key).exit_code, 2);
  EXPECT_EQ(run({"keys", "set", "openai", "--version", "Bad!"}, new_key).exit_code, 2);
  EXPECT_EQ(run({"keys", "weight", "openai", "current", "-3"}).exit_code, 2);
  const CliResult missing = run({"keys", "promote", "openai", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no version 'nope' of key 'openai'"));
  EXPECT_EQ(read_all(cli_.keys_file()), before);
}

TEST_F(KeyVersionsCli, TwentyProcessesAddingVersionsAtOnceLoseNothing) {
  ASSERT_EQ(run({"keys", "set", "shared"}, key("sk-concurrent-base-0000")).exit_code, 0);
  std::vector<std::string> values;
  for (int i = 0; i < 20; ++i) values.push_back(key("sk-concurrent-v" + std::to_string(100 + i)));
  std::vector<CliResult> results(20);
  std::vector<std::thread> processes;
  for (int i = 0; i < 20; ++i) {
    processes.emplace_back([&, i] {
      results[i] =
          cli_.run({"keys", "set", "shared", "--version", "v" + std::to_string(i), "--weight", "1"},
                   values[i]);
    });
  }
  for (auto& process : processes) process.join();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
  const CliResult listed = run({"keys", "versions", "shared"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("current "));
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(listed.out, HasSubstr("v" + std::to_string(i) + " "));
    EXPECT_THAT(listed.out, HasSubstr("sha256:" + llmrt::sha256_prefix(values[i])));
  }
}

}  // namespace
}  // namespace llmrt::test
