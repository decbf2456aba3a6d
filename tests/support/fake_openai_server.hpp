// A fake OpenAI-compatible server on 127.0.0.1, for tests: the openai plugin's and the gateway's.
//
//   llmrt::test::FakeOpenAiServer server;          // listening on an ephemeral loopback port
//   server.base_url();                             // "http://127.0.0.1:PORT/v1"
//   ... point a model at it (openai-models.json "api_base", or OPENAI_BASE_URL) and prompt ...
//   server.requests();                             // what it received, Authorization included
//
// Endpoints:
//   GET  /v1/models            {"object":"list","data":[{"id":...}, ...]}: "fake-model" and the
//                              behaviour names below
//   POST /v1/chat/completions  answers "echo: " + the content of the last user message (text parts
//                              joined when the content is an array), so that each caller can check
//                              it got its own answer. {"stream": true} gets OpenAI's exact chunk
//                              format: "data: {chat.completion.chunk}\n\n" with a first delta
//                              {"role":"assistant","content":""}, one chunk per word (the word and
//                              the spaces after it), a last delta {} with "finish_reason":"stop",
//                              then "data: [DONE]\n\n". Otherwise one chat.completion object.
//
// Behaviours on demand, chosen by the upstream model name of the request (so one server serves
// every case at once); any other name behaves normally:
//   "split-bytes"    the stream is written one byte per write (one HTTP chunk per byte)
//   "comments-crlf"  the stream uses CRLF line endings, ": keep-alive" comment lines, "id:" lines,
//                    and data split over two "data:" lines (JSON that is still valid when joined)
//   "stall"          sleeps stall_time (default 5 s) before answering at all
//   "drop"           streams (or starts the body of) part of the answer, then closes the connection
//   "cut-short"      a stream that ends cleanly but without finish_reason and without [DONE]
//   "status-401", "status-403", "status-404", "status-429", "status-500", "status-503"
//                    that HTTP status with an OpenAI error body whose message quotes the
//                    Authorization header it received and a fake key, kFakeLeakedKey (to prove that
//                    clients scrub what providers echo)
//   "invalid-json"   200 with a body that is not JSON (not streaming), or an SSE event whose data
//   is
//                    not JSON (streaming)
//   "slow-stream"    streams one word every 50 ms (for cancellation)
//
// Every request is recorded (thread-safe) before it is answered.
//
// Threading: every member may be called from any thread. The destructor stops the server, cutting
// short any stall or slow stream.
//
// Build: the CMake target llmrt_fake_openai (defined in tests/openai/CMakeLists.txt). Under
// ThreadSanitizer, a test binary that uses it should also compile
// tests/openai/tsan_suppressions.cpp: Debian's cpp-httplib is not instrumented, and TSan reports
// false races inside it (see that file).
#ifndef LLMRT_TESTS_FAKE_OPENAI_SERVER_HPP
#define LLMRT_TESTS_FAKE_OPENAI_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::test {

// A key-looking string that error bodies of the "status-*" behaviours contain.
inline constexpr std::string_view kFakeLeakedKey = "sk-proj-abc123def456ghi789jkl";

struct FakeOpenAiRequest {
  std::string method;                          // eg: "POST"
  std::string path;                            // eg: "/v1/chat/completions"
  std::optional<std::string> authorization;    // the Authorization header, if any
  std::map<std::string, std::string> headers;  // every header, by name as sent (last one wins)
  std::string body;                            // the raw body
  std::string model;                           // "model" of a chat request
  bool stream = false;                         // "stream" of a chat request
  std::string user_message;                    // the last user message's content
};

struct FakeOpenAiServerOptions {
  std::chrono::milliseconds stall_time{5000};     // how long "stall" waits before answering
  std::chrono::milliseconds slow_word_delay{50};  // the pause between words of "slow-stream"
  std::size_t threads = 64;                       // server threads: more than concurrent clients
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeOpenAiServerOptions options = {});
  ~FakeOpenAiServer();
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT/v1"
  std::string base_url() const;

  // A copy of every request received so far, in arrival order.
  std::vector<FakeOpenAiRequest> requests() const;
  std::size_t request_count() const;
  void clear_requests();

  // The answer content for a last user message: "echo: " + message.
  static std::string answer_for(std::string_view user_message);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace llmrt::test

#endif  // LLMRT_TESTS_FAKE_OPENAI_SERVER_HPP
