// One Messages API call over HTTP: the request with Anthropic's headers, the streamed (SSE) or
// whole answer, and every failure turned into an llmrt::sdk::Error with a scrubbed message.
#ifndef LLMRT_ANTHROPIC_MESSAGES_CLIENT_HPP
#define LLMRT_ANTHROPIC_MESSAGES_CLIENT_HPP

#include <llmrt/sdk.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "call_options.hpp"
#include "config.hpp"

namespace llmrt::anthropic {

// The API version every request names (the "anthropic-version" header).
inline constexpr std::string_view kApiVersion = "2023-06-01";

// One call (provider::ProviderCall): the body from build_messages_request, stream, the key for the
// x-api-key header, and its timeouts and retries, with Anthropic's 10-minute read timeout (as its
// SDKs) unless the call's options say otherwise.
struct MessagesCall : provider::ProviderCall {
  MessagesCall() { read_timeout = std::chrono::minutes(10); }
};

// POSTs `call.body` to <model.base>/v1/messages with "x-api-key: <key>" (never Authorization) and
// "anthropic-version: 2023-06-01", and writes the answer to `out`: each content_block_delta's
// text_delta as it arrives when streaming, the text blocks of the message otherwise. Reports the
// usage (input_tokens, output_tokens) once the answer is complete.
//
// The key goes in this request's header only, on a pooled connection that never holds it, and is
// wiped after the call. Throws llmrt::sdk::Error:
//   LLMRT_KEY_REJECTED  HTTP 401/403
//   LLMRT_BAD_REQUEST   HTTP 400, 404, 413 and other 4xx
//   LLMRT_UNAVAILABLE   HTTP 429/529/5xx, a connection error or timeout — after the retries
//                       ("failed after 3 attempts: ..."); an "overloaded_error" stream event
//   LLMRT_FAILED        a stream that ended before message_stop, an "error" event, a body that is
//                       not the JSON expected, TLS verification failures
void send_messages(const ModelConfig& model, const MessagesCall& call, sdk::Output& out);

}  // namespace llmrt::anthropic

#endif  // LLMRT_ANTHROPIC_MESSAGES_CLIENT_HPP
