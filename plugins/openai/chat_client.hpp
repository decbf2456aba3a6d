// One Chat Completions call over HTTP: the request, the streamed (SSE) or whole answer, and every
// way it can fail turned into an llmrt::sdk::Error with a scrubbed message.
#ifndef LLMRT_OPENAI_CHAT_CLIENT_HPP
#define LLMRT_OPENAI_CHAT_CLIENT_HPP

#include <llmrt/sdk.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "call_options.hpp"
#include "config.hpp"

namespace llmrt::openai {

// One call: what to send (provider::ProviderCall: the body from build_chat_request, stream, the
// key for the Authorization header), its timeouts and retries (10 s to connect, 60 s between
// bytes, 2 retries unless the call's options say otherwise), and:
struct ChatCall : provider::ProviderCall {
  std::string_view session_token;   // a composite credential's token, borrowed; may be empty
  std::string_view upstream_model;  // for messages, eg: "gpt-4o-mini"
};

// POSTs `call.body` to <model.base>/chat/completions and writes the answer to `out`: each
// choices[0].delta.content as it arrives when streaming, choices[0].message.content once otherwise.
// The model's extra headers, CA file and connection bound apply; the proxy comes from the
// environment (HTTPS_PROXY, ...). Transient failures are retried (provider::perform).
//
// The key is sent only as "Authorization: Bearer <key>" on this request, on a pooled connection
// that never holds it; the header value (the one copy made here) is wiped with OPENSSL_cleanse
// after the call. Redirects are never followed (they would carry the header elsewhere).
//
// Returns normally when the answer is complete, or as soon as `out` asks to stop (out.write
// returned false or out.stop_requested()): the transfer is then aborted. Throws llmrt::sdk::Error:
//   LLMRT_KEY_REJECTED  HTTP 401/403
//   LLMRT_BAD_REQUEST   HTTP 400, 404 and other 4xx
//   LLMRT_UNAVAILABLE   HTTP 408/429/5xx, connection refused, connect or read timeout (after
//                       the retries: "failed after 3 attempts: ...")
//   LLMRT_FAILED        a stream that ended early, a body that is not the JSON expected, TLS
//                       verification failures, anything else
void send_chat(const ModelConfig& model, const ChatCall& call, sdk::Output& out);

}  // namespace llmrt::openai

#endif  // LLMRT_OPENAI_CHAT_CLIENT_HPP
