// One provider call over HTTP, the way the official SDKs make it: on a pooled keep-alive
// connection, retried on transient failures, and cancellable while it waits for bytes.
//
// The bytes of the answer are read on the pooled connection's own thread and handed to the calling
// thread, which alone runs the AttemptReader (and so alone writes to the host's sink and asks it
// whether to stop, as the ABI requires). The calling thread asks the host every 50 ms while it
// waits, and on a stop shuts the connection down: a cancel is noticed within 100 ms even while the
// server sends nothing (while connecting, within the connect timeout).
//
// Retries (like OpenAI's and Anthropic's SDKs): up to `max_retries` more attempts (2 by default)
// after a connection error, a timeout, or HTTP 408, 409, 429 or >= 500 — only while nothing of the
// answer has reached the caller. The wait before attempt n+1 is min(0.5 s * 2^n, 8 s) less up to
// 25% jitter, or what the server asked for in retry-after-ms / Retry-After (when 0-60 s).
// When every attempt fails, the error is the last one's, its message prefixed with
// "failed after N attempts: " and ending with what the earlier attempts got.
#ifndef LLMRT_PROVIDER_HTTP_CALL_HPP
#define LLMRT_PROVIDER_HTTP_CALL_HPP

#include <httplib.h>
#include <llmrt/sdk.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "call_options.hpp"
#include "connection_pool.hpp"

namespace llmrt::provider {

inline constexpr int kDefaultMaxRetries = 2;

struct HttpRequest {
  Endpoint endpoint;
  std::string path;          // eg: "/v1/messages" (the base's path prefix included)
  httplib::Headers headers;  // every header; the values of `secret_headers` are wiped afterwards
  std::vector<std::string> secret_headers;  // eg: {"x-api-key"}
  std::string body;
  bool stream = false;   // the answer is streamed: each piece is handed over as it arrives
  std::string_view key;  // the call's key, for scrubbing messages; may be empty
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{60000};
  int max_retries = kDefaultMaxRetries;
};

// The request every provider call starts from: `model`'s endpoint (its base URL, the proxy the
// environment names for it, its CA file and connection bound), the path <base's path prefix>
// <api_path> (eg: "/chat/completions"), the call's body, stream, key (for scrubbing), timeouts and
// retries, and the model's extra headers. The plugin then adds its own headers (names as its API
// spells them), the key's among them. Does not throw but std::bad_alloc.
HttpRequest model_request(const ModelConfig& model, std::string_view api_path,
                          const ProviderCall& call);

// How an attempt's transfer ended, for AttemptReader::finish.
struct TransferEnd {
  bool sent = false;  // httplib completed the exchange
  httplib::Error error = httplib::Error::Success;
  std::chrono::milliseconds idle{0};  // since the last bytes arrived
};

// Reads one attempt's answer: provider-specific. All calls happen on the calling thread.
class AttemptReader {
 public:
  virtual ~AttemptReader() = default;
  // The status line and headers arrived.
  virtual void on_response(const httplib::Response& response) = 0;
  // The next bytes of the body. Returns false to end the transfer (the answer is complete, or the
  // caller stopped). Must not throw: keep a failure for finish().
  virtual bool on_data(std::string_view bytes) noexcept = 0;
  // The transfer is over: delivers what remains, or throws sdk::Error.
  virtual void finish(const TransferEnd& end) = 0;
  // Sends the usage, if any, after a successful finish.
  virtual void report_usage() = 0;
  // Whether anything reached the caller (out.write): then the attempt is never retried.
  virtual bool delivered() const = 0;
};

// Makes the request, retrying as described above; each attempt gets a fresh reader. Returns when
// the answer is complete or the caller stopped; throws sdk::Error (scrubbed of request.key).
void perform(HttpRequest& request,
             const std::function<std::unique_ptr<AttemptReader>()>& make_reader, sdk::Output& out);

// Transport failures in words, eg: "could not connect to http://127.0.0.1:9/v1: connection
// refused". `started`: the status line had arrived; `stream`: the answer was an event stream.
[[noreturn]] void throw_transport_failure(const BaseUrl& base, const std::string& url,
                                          const HttpRequest& request, const TransferEnd& end,
                                          bool started, bool stream, std::string_view stream_end);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_HTTP_CALL_HPP
