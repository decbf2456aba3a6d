// The openai plugin through llmrt::Runtime, against the fake OpenAI server on 127.0.0.1.
//
// The plugin reads its model list once per process (the SDK's dynamic models), so every test of
// this file shares one fake server and one user directory whose openai-models.json points one
// model at each of the server's behaviours. Each test tells its requests apart by its own prompts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <llmrt/llmrt.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "fake_openai_server.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loopback port nothing listens on: bound, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

const char* const kBehaviours[] = {"split-bytes", "comments-crlf", "stall",      "drop",
                                   "cut-short",   "status-401",    "status-403", "status-404",
                                   "status-429",  "status-500",    "status-503", "invalid-json",
                                   "slow-stream"};

// The process-wide fake upstream and the user directory that points models at it.
struct Upstream {
  FakeOpenAiServer server;
  TempDir user;
  int unused_port = closed_port();

  Upstream() {
    const std::string base = server.base_url();
    json::array models;
    // Accepts a key and sends it when there is one.
    models.push_back({{"id", "fake"}, {"model", "fake-model"}, {"api_base", base}});
    // Needs one: the host refuses to call it without.
    models.push_back(
        {{"id", "fake-keyed"}, {"model", "fake-model"}, {"api_base", base}, {"needs_key", true}});
    // Takes no key at all.
    models.push_back(
        {{"id", "fake-open"}, {"model", "fake-model"}, {"api_base", base}, {"no_key", true}});
    // Replaces a default model.
    models.push_back(
        {{"id", "gpt-4.1-nano"}, {"model", "fake-model"}, {"api_base", base}, {"no_key", true}});
    for (const char* behaviour : kBehaviours) {
      models.push_back(
          {{"id", std::string("fake-") + behaviour}, {"model", behaviour}, {"api_base", base}});
    }
    models.push_back({{"id", "fake-closed"},
                      {"api_base", "http://127.0.0.1:" + std::to_string(unused_port) + "/v1"}});
    std::ofstream(user.path() / "openai-models.json") << json::serialize(models);
  }
};

Upstream& upstream() {
  static Upstream shared;
  return shared;
}

RuntimeConfig config(const FakeEnvironment& environment) {
  RuntimeConfig config = isolated_config(upstream().user.path(), environment);
  config.async_threads = 4;
  return config;
}

std::vector<FakeOpenAiRequest> requests_for(const std::string& user_message) {
  std::vector<FakeOpenAiRequest> found;
  for (FakeOpenAiRequest& request : upstream().server.requests()) {
    if (request.user_message == user_message) found.push_back(std::move(request));
  }
  return found;
}

class OpenAiPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream();  // the server and the file exist before the plugin is first loaded
    runtime_ = std::make_unique<Runtime>(config(environment_));
    for (const LoadError& error : runtime_->load_errors()) {
      if (error.path.find("openai") != std::string::npos) ADD_FAILURE() << error.message;
    }
  }

  Model model(std::string_view id) const { return runtime_->get_model(id); }

  // The error a prompt ends with; a failure if it succeeds.
  Error prompt_error(std::string_view id, const std::string& text, PromptOptions options = {}) {
    try {
      const Response response = model(id).prompt(text, std::move(options));
      ADD_FAILURE() << id << " answered: " << response.text;
    } catch (const Error& error) {
      return error;
    }
    return Error(ErrorCode::usage, "none");
  }

  FakeEnvironment environment_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(OpenAiPlugin, OffersTheDefaultAndConfiguredModels) {
  std::map<std::string, ModelInfo> models;
  for (ModelInfo& info : runtime_->models()) models[info.id] = std::move(info);
  for (const char* id :
       {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "o4-mini"}) {
    ASSERT_TRUE(models.contains(id)) << id;
    const ModelInfo& info = models[id];
    EXPECT_EQ(info.plugin_name, "openai");
    EXPECT_TRUE(info.accepts_key);
    EXPECT_TRUE(info.requires_key);
    EXPECT_EQ(info.key_name, "openai");
    EXPECT_EQ(info.key_env_var, "OPENAI_API_KEY");
    EXPECT_TRUE(info.streaming);
    EXPECT_TRUE(info.reentrant);
    EXPECT_FALSE(info.deterministic);
    EXPECT_NE(info.options_schema_json.find("read_timeout_ms"), std::string::npos);
  }
  ASSERT_TRUE(models.contains("fake"));
  EXPECT_TRUE(models["fake"].accepts_key);
  EXPECT_FALSE(models["fake"].requires_key);
  EXPECT_TRUE(models["fake-keyed"].requires_key);
  EXPECT_FALSE(models["fake-open"].accepts_key);
  EXPECT_EQ(models["fake-open"].key_name, "");
  // A configured model replaced the default one of the same id.
  EXPECT_FALSE(models["gpt-4.1-nano"].accepts_key);
  EXPECT_TRUE(models.contains("fake-slow-stream"));
}

TEST_F(OpenAiPlugin, StreamingAndNonStreamingAnswersAreEqual) {
  const std::string text = "equal answers for both ways";
  const Response streamed = model("fake").prompt(text, {.stream = true});
  const Response whole = model("fake").prompt(text, {.stream = false});
  EXPECT_EQ(streamed.text, FakeOpenAiServer::answer_for(text));
  EXPECT_EQ(whole.text, streamed.text);
  EXPECT_GT(streamed.chunk_count, 3u);  // one per word
  EXPECT_EQ(whole.chunk_count, 1u);
  const auto requests = requests_for(text);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].stream);
  EXPECT_FALSE(requests[1].stream);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].model, "fake-model");
}

TEST_F(OpenAiPlugin, ChunksArriveThroughOnChunk) {
  const std::string text = "chunks one by one";
  std::vector<std::string> chunks;
  const Response response =
      model("fake").prompt(text, {.stream = true, .on_chunk = [&](std::string_view chunk) {
                                    chunks.emplace_back(chunk);
                                    return true;
                                  }});
  EXPECT_EQ(chunks, (std::vector<std::string>{"echo: ", "chunks ", "one ", "by ", "one"}));
  EXPECT_EQ(response.text, "echo: chunks one by one");
}

TEST_F(OpenAiPlugin, AuthorizationIsExactlyTheCallsKey) {
  const Response first = model("fake-keyed").prompt("key check one", {.key = "sk-test-first-1"});
  const Response second = model("fake-keyed").prompt("key check two", {.key = "sk-test-second-2"});
  EXPECT_EQ(first.text, "echo: key check one");
  EXPECT_EQ(second.key_source, KeySource::per_call);
  auto one = requests_for("key check one");
  auto two = requests_for("key check two");
  ASSERT_EQ(one.size(), 1u);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(one[0].authorization, "Bearer sk-test-first-1");
  EXPECT_EQ(two[0].authorization, "Bearer sk-test-second-2");
  EXPECT_EQ(one[0].body.find("sk-test"), std::string::npos);  // the key is only in the header
}

TEST_F(OpenAiPlugin, KeyFromTheEnvironmentVariable) {
  environment_.set("OPENAI_API_KEY", "sk-test-from-env");
  Runtime runtime(config(environment_));
  const Response response = runtime.get_model("fake-keyed").prompt("key from env");
  EXPECT_EQ(response.key_source, KeySource::environment);
  const auto requests = requests_for("key from env");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization, "Bearer sk-test-from-env");
}

TEST_F(OpenAiPlugin, NoAuthorizationHeaderWithoutAKey) {
  // A no_key model never gets one, even when a key is given (the host warns and drops it).
  const Response open = model("fake-open").prompt("open model", {.key = "sk-test-dropped"});
  EXPECT_EQ(open.text, "echo: open model");
  EXPECT_EQ(open.key_source, KeySource::none);
  EXPECT_FALSE(open.warnings.empty());
  // A model that accepts a key but does not need one, called without.
  const Response optional = model("fake").prompt("optional key absent");
  EXPECT_EQ(optional.key_source, KeySource::none);
  for (const char* text : {"open model", "optional key absent"}) {
    const auto requests = requests_for(text);
    ASSERT_EQ(requests.size(), 1u) << text;
    EXPECT_FALSE(requests[0].authorization.has_value()) << text;
  }
}

TEST_F(OpenAiPlugin, ModelWithoutAKeyIsRefusedBeforeAnyRequest) {
  const std::size_t before = upstream().server.request_count();
  const Error error = prompt_error("fake-keyed", "never sent");
  EXPECT_EQ(error.code(), ErrorCode::key_missing) << error.what();
  EXPECT_EQ(upstream().server.request_count(), before);
}

TEST_F(OpenAiPlugin, ConcurrentCallsEachCarryOnlyTheirOwnKey) {
  constexpr int kThreads = 32;
  constexpr int kCalls = 20;
  const Model shared = model("fake");
  std::mt19937_64 random(std::random_device{}());
  const std::string run = std::to_string(random());
  auto key_for = [&](int t, int i) {
    return "sk-test-" + run + "-" + std::to_string(t) + "-" + std::to_string(i);
  };
  auto text_for = [&](int t, int i) {
    return "concurrent " + run + " " + std::to_string(t) + " " + std::to_string(i);
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        try {
          const Response response =
              shared.prompt(text_for(t, i), {.key = Key(key_for(t, i)), .stream = (i % 2 == 0)});
          if (response.text != FakeOpenAiServer::answer_for(text_for(t, i))) ++wrong;
        } catch (const std::exception& error) {
          ++wrong;
          ADD_FAILURE() << error.what();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);

  std::map<std::string, std::vector<std::optional<std::string>>> seen;
  for (const FakeOpenAiRequest& request : upstream().server.requests()) {
    seen[request.user_message].push_back(request.authorization);
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCalls; ++i) {
      const auto& authorizations = seen[text_for(t, i)];
      ASSERT_EQ(authorizations.size(), 1u) << text_for(t, i);
      EXPECT_EQ(authorizations[0], "Bearer " + key_for(t, i)) << text_for(t, i);
    }
  }
}

TEST_F(OpenAiPlugin, StreamsSplitAnywhereOrWithCommentsAndCrlfGiveTheFullText) {
  for (const char* id : {"fake-split-bytes", "fake-comments-crlf"}) {
    const std::string text = std::string("odd stream from ") + id + " with several words";
    const Response response = model(id).prompt(text, {.stream = true});
    EXPECT_EQ(response.text, FakeOpenAiServer::answer_for(text)) << id;
    EXPECT_FALSE(response.cancelled);
  }
}

TEST_F(OpenAiPlugin, HttpErrorsMapToErrorCodesWithScrubbedMessages) {
  const struct {
    const char* id;
    ErrorCode code;
    const char* status;
  } cases[] = {
      {"fake-status-401", ErrorCode::key_rejected, "HTTP 401"},
      {"fake-status-403", ErrorCode::key_rejected, "HTTP 403"},
      {"fake-status-404", ErrorCode::bad_request, "HTTP 404"},
      {"fake-status-429", ErrorCode::unavailable, "HTTP 429"},
      {"fake-status-500", ErrorCode::unavailable, "HTTP 500"},
      {"fake-status-503", ErrorCode::unavailable, "HTTP 503"},
  };
  const std::string key = "sk-test-echoed-back-7f3a9";
  for (const auto& c : cases) {
    for (const bool stream : {true, false}) {
      const std::string text = std::string("error case ") + c.id + (stream ? " s" : " n");
      // One attempt: retries are RetriesLikeTheOfficialSdks' business (network_test.cpp).
      const Error error = prompt_error(
          c.id, text, {.key = Key(key), .options_json = R"({"max_retries":0})", .stream = stream});
      const std::string message = error.what();
      EXPECT_EQ(error.code(), c.code) << c.id << ": " << message;
      EXPECT_NE(message.find(c.status), std::string::npos) << message;
      EXPECT_NE(message.find("Fake error"), std::string::npos) << message;  // provider's text
      EXPECT_EQ(message.find(key), std::string::npos) << message;
      EXPECT_EQ(message.find("7f3a9"), std::string::npos) << message;
      EXPECT_EQ(message.find(kFakeLeakedKey), std::string::npos) << message;
      EXPECT_EQ(message.find("abc123"), std::string::npos) << message;
      // The upstream really did echo the key: the scrubbing is what kept it out.
      const auto requests = requests_for(text);
      ASSERT_EQ(requests.size(), 1u);
      EXPECT_EQ(requests[0].authorization, "Bearer " + key);
    }
  }
}

TEST_F(OpenAiPlugin, ConnectionRefusedIsUnavailableQuickly) {
  const auto start = Clock::now();
  const Error error = prompt_error("fake-closed", "nobody listens", {.key = "sk-test-closed"});
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.what();
  const std::string expected =
      "could not connect to http://127.0.0.1:" + std::to_string(upstream().unused_port) +
      "/v1: connection refused";
  EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  EXPECT_LT(elapsed, 3s);
}

TEST_F(OpenAiPlugin, StallTimesOutAsUnavailable) {
  for (const bool stream : {true, false}) {
    const auto start = Clock::now();
    const Error error =
        prompt_error("fake-stall", std::string("stall ") + (stream ? "s" : "n"),
                     {.options_json = R"({"read_timeout_ms":300})", .stream = stream});
    const auto elapsed = Clock::now() - start;
    EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.what();
    EXPECT_NE(std::string(error.what()).find("timed out after 300 ms"), std::string::npos)
        << error.what();
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 3s);
  }
}

TEST_F(OpenAiPlugin, DroppedOrCutShortStreamsEndedEarly) {
  const struct {
    const char* id;
    bool stream;
  } cases[] = {{"fake-drop", true}, {"fake-drop", false}, {"fake-cut-short", true}};
  for (const auto& c : cases) {
    const std::string text = std::string("early end ") + c.id + (c.stream ? " s" : " n");
    std::string received;
    const Error error =
        prompt_error(c.id, text, {.stream = c.stream, .on_chunk = [&](std::string_view chunk) {
                                    received.append(chunk);
                                    return true;
                                  }});
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << c.id << ": " << error.what();
    EXPECT_NE(std::string(error.what()).find("ended early"), std::string::npos) << error.what();
    if (c.stream) {
      EXPECT_FALSE(received.empty()) << c.id;  // what came was forwarded
    }
  }
}

TEST_F(OpenAiPlugin, InvalidJsonIsPluginFailed) {
  for (const bool stream : {true, false}) {
    const Error error = prompt_error(
        "fake-invalid-json", std::string("bad json ") + (stream ? "s" : "n"), {.stream = stream});
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
    EXPECT_NE(std::string(error.what()).find("JSON"), std::string::npos) << error.what();
  }
}

TEST_F(OpenAiPlugin, CancellingASlowStreamStopsPromptly) {
  std::string text = "slow";
  for (int i = 0; i < 100; ++i) text += " word" + std::to_string(i);  // ~5 s at 50 ms a word
  AsyncResponse response = model("fake-slow-stream").prompt_async(text, {.stream = true});
  const std::optional<std::string> first = response.next_chunk();
  ASSERT_TRUE(first.has_value());
  const auto cancelled_at = Clock::now();
  response.cancel();
  ASSERT_TRUE(response.wait_for(2s)) << "the call did not stop";
  EXPECT_LT(Clock::now() - cancelled_at, 1500ms);
  const Response result = response.get();
  EXPECT_TRUE(result.cancelled);
  EXPECT_LT(result.text.size(), FakeOpenAiServer::answer_for(text).size());

  // The runtime and the plugin keep working.
  EXPECT_EQ(model("fake").prompt("after the cancel").text, "echo: after the cancel");
}

TEST_F(OpenAiPlugin, StoppingFromOnChunkEndsTheCallAsCancelled) {
  int chunks = 0;
  const Response response =
      model("fake-slow-stream")
          .prompt("stop me after two chunks please now",
                  {.stream = true, .on_chunk = [&](std::string_view) { return ++chunks < 2; }});
  EXPECT_TRUE(response.cancelled);
  EXPECT_EQ(chunks, 2);
}

TEST_F(OpenAiPlugin, OptionsReachTheRequest) {
  const std::string text = "with options";
  model("fake").prompt(text, {.options = {{"temperature", "0.25"},
                                          {"max_tokens", "12"},
                                          {"seed", "42"},
                                          {"system", "Be terse."}},
                              .options_json = R"({"stop":["END"],"top_p":0.5})"});
  const auto requests = requests_for(text);
  ASSERT_EQ(requests.size(), 1u);
  const json::object body = json::parse(requests[0].body).as_object();
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.25);
  EXPECT_EQ(body.at("max_tokens").to_number<std::int64_t>(), 12);
  EXPECT_EQ(body.at("seed").to_number<std::int64_t>(), 42);
  EXPECT_EQ(body.at("top_p").to_number<double>(), 0.5);
  EXPECT_EQ(body.at("stop"), json::parse(R"(["END"])"));
  EXPECT_EQ(body.at("messages").at(0), json::parse(R"({"role":"system","content":"Be terse."})"));
}

TEST_F(OpenAiPlugin, MessagesOptionIsSentAsIs) {
  const std::string messages =
      R"([{"role":"system","content":"S"},{"role":"user","content":"first"},)"
      R"({"role":"assistant","content":"echo: first"},{"role":"user","content":"messages second"}])";
  const Response response =
      model("fake").prompt("", {.options_json = R"({"messages":)" + messages + "}"});
  EXPECT_EQ(response.text, "echo: messages second");
  const auto requests = requests_for("messages second");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(json::parse(requests[0].body).at("messages"), json::parse(messages));
}

TEST_F(OpenAiPlugin, OptionsOutOfRangeAreRefusedBeforeAnyRequest) {
  const std::size_t before = upstream().server.request_count();
  EXPECT_EQ(prompt_error("fake", "too hot", {.options = {{"temperature", "5"}}}).code(),
            ErrorCode::bad_request);
  EXPECT_EQ(prompt_error("fake", "no such", {.options = {{"frequency", "1"}}}).code(),
            ErrorCode::bad_request);
  EXPECT_EQ(upstream().server.request_count(), before);
}

}  // namespace
}  // namespace llmrt::test
