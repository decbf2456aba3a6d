// The openai plugin as a user meets it through the `llmrt` binary: each run is a fresh process with
// a clean environment (run_cli.hpp), so OPENAI_BASE_URL is read by the plugin for real.
#include <gtest/gtest.h>

#include <fstream>

#include "fake_openai_server.hpp"
#include "run_cli.hpp"

namespace llmrt::test {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(OpenAiCli, PromptWithoutAKeyNamesEveryWayToGiveOneAndSendsNothing) {
  FakeOpenAiServer server;
  CliRunner cli;  // no OPENAI_API_KEY; the user directory is a fresh temporary one
  cli.set_env("OPENAI_BASE_URL", server.base_url());
  const CliResult result = cli.run({"prompt", "-m", "gpt-4o-mini", "hi"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, "--key")) << result.err;
  EXPECT_TRUE(contains(result.err, "OPENAI_API_KEY")) << result.err;
  EXPECT_TRUE(contains(result.err, "llmrt keys set openai")) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(OpenAiCli, BaseUrlFromTheEnvironmentAndAPerCallKey) {
  FakeOpenAiServer server;
  CliRunner cli;
  cli.set_env("OPENAI_BASE_URL", server.base_url());
  for (const bool stream : {true, false}) {
    std::vector<std::string> args = {
        "prompt", "-m", "gpt-4o-mini", "--key", "sk-test-cli-key", "hello from the cli"};
    if (!stream) args.push_back("--no-stream");
    const CliResult result = cli.run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "echo: hello from the cli\n");
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const FakeOpenAiRequest& request : requests) {
    EXPECT_EQ(request.model, "gpt-4o-mini");
    EXPECT_EQ(request.authorization, "Bearer sk-test-cli-key");
  }
  EXPECT_TRUE(requests[0].stream);
  EXPECT_FALSE(requests[1].stream);
}

TEST(OpenAiCli, KeyFromOpenAiApiKeyAndErrorsWithoutIt) {
  FakeOpenAiServer server;
  CliRunner cli;
  cli.set_env("OPENAI_BASE_URL", server.base_url());
  cli.set_env("OPENAI_API_KEY", "sk-test-env-key");
  const CliResult ok = cli.run({"prompt", "-m", "gpt-4o", "from env"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].authorization, "Bearer sk-test-env-key");
}

TEST(OpenAiCli, UnreachableServerIsAnErrorWithoutTheKey) {
  CliRunner cli;
  cli.set_env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1");
  const CliResult result =
      cli.run({"prompt", "-m", "gpt-4o-mini", "--key", "sk-test-unreachable-123", "hi"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, "could not connect to http://127.0.0.1:9/v1")) << result.err;
  EXPECT_FALSE(contains(result.err, "unreachable-123")) << result.err;
}

TEST(OpenAiCli, MalformedModelsFileSkipsThePluginAndSaysWhy) {
  CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  const std::filesystem::path file = cli.user_dir() / "openai-models.json";
  std::ofstream(file) << R"([{"id": "local", "api_url": "http://127.0.0.1:8081/v1"}])";
  const CliResult result = cli.run({"models"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "echo")) << result.out;  // the other plugins still load
  EXPECT_FALSE(contains(result.out, "gpt-4o")) << result.out;
  EXPECT_TRUE(contains(result.err, "skipped plugin")) << result.err;
  EXPECT_TRUE(contains(result.err, "openai")) << result.err;
  EXPECT_TRUE(contains(result.err, file.string())) << result.err;
  EXPECT_TRUE(contains(result.err, "unknown field \"api_url\"")) << result.err;
}

TEST(OpenAiCli, BadBaseUrlSkipsThePluginAndSaysWhy) {
  CliRunner cli;
  cli.set_env("OPENAI_BASE_URL", "localhost:8080/v1");
  const CliResult result = cli.run({"models"});
  EXPECT_TRUE(contains(result.err, "OPENAI_BASE_URL")) << result.err;
  EXPECT_FALSE(contains(result.out, "gpt-4o")) << result.out;
}

TEST(OpenAiCli, ModelsListsTheConfiguredModels) {
  CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  std::ofstream(cli.user_dir() / "openai-models.json")
      << R"({"models": [{"id": "local-llama", "api_base": "http://127.0.0.1:8081/v1",
                         "no_key": true}]})";
  const CliResult result = cli.run({"models"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "local-llama")) << result.out;
  EXPECT_TRUE(contains(result.out, "gpt-4o-mini")) << result.out;
}

}  // namespace
}  // namespace llmrt::test
