// The anthropic plugin as users meet it: `llmrt models`, `llmrt prompt`, and `llmrt serve`'s
// OpenAI-compatible endpoint (the gateway speaks OpenAI to its clients whatever the plugin speaks
// upstream). Each run is a fresh process; ANTHROPIC_BASE_URL points the default models at the
// fake Messages API. Every output is searched for every key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <regex>

#include "fake_anthropic_server.hpp"
#include "run_cli.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(AnthropicCli, ModelsListsAnthropicsModelsWithTheirKey) {
  CliRunner cli;
  const CliResult result = cli.run({"models"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::regex_search(result.out,
                                std::regex(R"(claude-sonnet-4-5 +anthropic +2\.2 +yes +anthropic +)"
                                           R"(ANTHROPIC_API_KEY)")))
      << result.out;
}

TEST(AnthropicCli, PromptWithAPerCallKeyOrAnthropicApiKey) {
  FakeAnthropicServer server;
  CliRunner cli;
  cli.set_env("ANTHROPIC_BASE_URL", server.base_url());
  const std::string key = "sk-ant-test-cli-4e1f";
  for (const bool stream : {true, false}) {
    std::vector<std::string> args = {"prompt", "-m", "claude-sonnet-4-5", "--key",
                                     key,      "-s", "Be brief.",         "hello claude"};
    if (!stream) args.push_back("--no-stream");
    const CliResult result = cli.run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "echo: hello claude\n");
    EXPECT_FALSE(contains(result.out + result.err, key));
  }
  const std::string env_key = "sk-ant-test-env-77aa";
  cli.set_env("ANTHROPIC_API_KEY", env_key);
  const CliResult from_env = cli.run({"prompt", "-m", "claude-haiku-4-5", "from the env"});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_FALSE(contains(from_env.out + from_env.err, env_key));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].header("x-api-key"), key);
  EXPECT_EQ(json::parse(requests[0].body).at("system"), "Be brief.");
  EXPECT_EQ(requests[2].header("x-api-key"), env_key);
  for (const FakeAnthropicRequest& request : requests) {
    EXPECT_FALSE(request.header("authorization").has_value());
  }
}

TEST(AnthropicCli, RejectedKeyIsAnErrorWithoutTheKey) {
  FakeAnthropicServer server;
  CliRunner cli;
  std::filesystem::create_directories(cli.user_dir());
  std::ofstream(cli.user_dir() / "anthropic-models.json")
      << R"([{"id": "claude-refused", "model": "status-401", "api_base": ")" << server.base_url()
      << R"("}])";
  const std::string key = "sk-ant-api03-refusedKey-5d2c";
  const CliResult result = cli.run({"prompt", "-m", "claude-refused", "--key", key, "hi"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, "HTTP 401")) << result.err;
  for (const std::string_view secret :
       {std::string_view(key), kFakeLeakedAnthropicKey, std::string_view("refusedKey"),
        std::string_view("leakedKEY")}) {
    EXPECT_FALSE(contains(result.out + result.err, secret)) << result.err;
  }
}

// `llmrt serve` as a child process, stopped with SIGTERM.
class ServeProcess {
 public:
  explicit ServeProcess(const CliRunner& cli, const std::string& base_url) {
    std::vector<std::string> env = {"HOME=" + cli.home().string(),
                                    "LLMRT_USER_PATH=" + cli.user_dir().string(),
                                    "ANTHROPIC_BASE_URL=" + base_url};
    if (const char* path = std::getenv("PATH")) env.push_back(std::string("PATH=") + path);
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (text.starts_with("ASAN_") || text.starts_with("UBSAN_") || text.starts_with("TSAN_") ||
          text.starts_with("LSAN_")) {
        env.emplace_back(text);
      }
    }
    std::vector<std::string> args = {kCliPath.string(), "serve", "--port", "0"};
    std::vector<char*> argv, envp;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe[1]);
    err_fd_ = pipe[0];
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    drain(std::chrono::milliseconds(0));
    ::close(err_fd_);
  }

  // The port from the "serving N models on http://127.0.0.1:PORT" line; 0 if none came in 20 s.
  int wait_for_port() {
    const std::regex serving(R"(serving \d+ models on http://127\.0\.0\.1:(\d+))");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::smatch match;
    while (std::chrono::steady_clock::now() < until) {
      if (std::regex_search(err_, match, serving)) return std::stoi(match[1]);
      if (!drain(std::chrono::milliseconds(100))) break;
    }
    return 0;
  }
  const std::string& stderr_text() {
    drain(std::chrono::milliseconds(0));
    return err_;
  }

 private:
  bool drain(std::chrono::milliseconds wait) {
    pollfd ready{err_fd_, POLLIN, 0};
    while (::poll(&ready, 1, static_cast<int>(wait.count())) > 0) {
      char buffer[4096];
      const ssize_t n = ::read(err_fd_, buffer, sizeof buffer);
      if (n <= 0) return false;
      err_.append(buffer, static_cast<std::size_t>(n));
      wait = std::chrono::milliseconds(0);
    }
    return true;
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

TEST(AnthropicCli, ServeSpeaksOpenAiToClientsAndAnthropicUpstream) {
  FakeAnthropicServer server;
  CliRunner cli;
  ServeProcess serve(cli, server.base_url());
  const int port = serve.wait_for_port();
  ASSERT_GT(port, 0) << serve.stderr_text();
  httplib::Client client("127.0.0.1", port);
  const std::string key = "sk-ant-test-gateway-0c9d";
  for (const bool stream : {false, true}) {
    const std::string text = std::string("through the gateway ") + (stream ? "s" : "n");
    const json::object body{
        {"model", "claude-sonnet-4-5"},
        {"stream", stream},
        {"messages", json::array{json::object{{"role", "system"}, {"content", "Be brief."}},
                                 json::object{{"role", "user"}, {"content", text}}}}};
    const auto reply = client.Post("/v1/chat/completions", {{"Authorization", "Bearer " + key}},
                                   json::serialize(body), "application/json");
    ASSERT_TRUE(reply) << httplib::to_string(reply.error());
    EXPECT_EQ(reply->status, 200) << reply->body;
    EXPECT_FALSE(contains(reply->body, key));
    if (stream) {
      EXPECT_TRUE(contains(reply->body, "data: [DONE]")) << reply->body;
      EXPECT_TRUE(contains(reply->body, "through ")) << reply->body;
    } else {
      EXPECT_EQ(json::parse(reply->body).at("choices").at(0).at("message").at("content"),
                json::value(FakeAnthropicServer::answer_for(text)))
          << reply->body;
    }
    const auto requests = server.requests_for(text);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].header("x-api-key"), key);  // the client's bearer token, in x-api-key
    EXPECT_FALSE(requests[0].header("authorization").has_value());
    EXPECT_EQ(requests[0].path, "/v1/messages");
    EXPECT_EQ(json::parse(requests[0].body).at("system"), "Be brief.");  // its own field
  }
  EXPECT_FALSE(contains(serve.stderr_text(), key)) << serve.stderr_text();
}

}  // namespace
}  // namespace llmrt::test
