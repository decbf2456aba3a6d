// A fake Anthropic Messages API on 127.0.0.1 (plain HTTP, or HTTPS with a certificate the test
// made), for the anthropic plugin's tests.
//
//   llmrt::test::FakeAnthropicServer server;  // listening on an ephemeral loopback port
//   server.base_url();                        // "http://127.0.0.1:PORT" (ANTHROPIC_BASE_URL form)
//   server.requests();                        // what it received, headers included
//
// POST /v1/messages answers "echo: " + the last user message. Without "stream": true, one Message
// object ({"type":"message","content":[{"type":"text","text":...}],"usage":{...}}); with it,
// Anthropic's documented event stream: message_start, content_block_start, ping, one
// content_block_delta (text_delta) per word, content_block_stop, message_delta (stop_reason and
// usage.output_tokens), message_stop — each as "event: NAME\ndata: JSON\n\n".
// A request without x-api-key, anthropic-version, max_tokens or messages gets Anthropic's 400
// invalid_request_error (the real API's answer), so a wrong wire format shows.
//
// Behaviours, chosen by the request's "model":
//   "split-bytes"      the stream is written one byte per write
//   "status-NNN"       that status with Anthropic's error body, whose message quotes the x-api-key
//                      it received and kFakeLeakedAnthropicKey (clients must scrub both)
//   "flaky-503"        the first request for each user message gets 503, the next ones answer
//   "flaky-429"        the first request for each user message gets 429 with "retry-after: 1"
//   "drop-after-first" streams message_start and the first delta, then closes the connection
//   "error-event"      streams message_start, then an "error" event (overloaded_error)
//   "stall"            waits (up to stall_time) before answering
//
// Threading: every member may be called from any thread. The destructor stops the server.
#ifndef LLMRT_TESTS_FAKE_ANTHROPIC_SERVER_HPP
#define LLMRT_TESTS_FAKE_ANTHROPIC_SERVER_HPP

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::test {

inline constexpr std::string_view kFakeLeakedAnthropicKey = "sk-ant-api03-leakedKEY0123456789";

struct FakeAnthropicRequest {
  std::string path;                            // eg: "/v1/messages"
  std::map<std::string, std::string> headers;  // by lower-case name (last one wins)
  std::string body;                            // raw
  std::string model;                           // "model"
  bool stream = false;                         // "stream"
  std::string user_message;                    // the last user message's text
  std::chrono::steady_clock::time_point received;

  std::optional<std::string> header(std::string_view lower_name) const {
    auto found = headers.find(std::string(lower_name));
    return found == headers.end() ? std::nullopt : std::optional<std::string>(found->second);
  }
};

struct FakeAnthropicServerOptions {
  std::chrono::milliseconds stall_time{30000};
  std::size_t threads = 64;
  std::string cert_file;  // both set: serve HTTPS with this certificate and key (PEM)
  std::string key_file;
};

class FakeAnthropicServer {
 public:
  explicit FakeAnthropicServer(FakeAnthropicServerOptions options = {});
  ~FakeAnthropicServer();
  FakeAnthropicServer(const FakeAnthropicServer&) = delete;
  FakeAnthropicServer& operator=(const FakeAnthropicServer&) = delete;

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"
  std::vector<FakeAnthropicRequest> requests() const;
  std::vector<FakeAnthropicRequest> requests_for(std::string_view user_message) const;
  static std::string answer_for(std::string_view user_message) {
    return "echo: " + std::string(user_message);
  }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace llmrt::test

#endif  // LLMRT_TESTS_FAKE_ANTHROPIC_SERVER_HPP
