// A call's options (the JSON object the host checked against the schema below) and the Chat
// Completions request body built from them.
#ifndef LLMRT_OPENAI_CHAT_REQUEST_HPP
#define LLMRT_OPENAI_CHAT_REQUEST_HPP

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "call_options.hpp"

namespace llmrt::openai {

// The options schema every model of the plugin declares (a JSON schema subset the host reads).
const char* options_schema();

// The sampling options and the request, and the transport options (provider::TransportOptions:
// connect_timeout 10 s, read_timeout 60 s, max_retries 2 unless the call says otherwise).
struct CallOptions : provider::TransportOptions {
  std::optional<double> temperature;           // 0..2
  std::optional<std::int64_t> max_tokens;      // >= 1
  std::optional<double> top_p;                 // 0..1
  std::optional<std::int64_t> seed;            //
  std::optional<boost::json::value> stop;      // an array of strings (or one string)
  std::optional<std::string> system;           // a system message put before the prompt
  std::optional<boost::json::array> messages;  // a whole messages list, sent as-is
};

// Parses a call's options. The host has checked them already; this checks again (another host
// may not) and throws llmrt::sdk::Error(LLMRT_BAD_REQUEST) naming the option that is wrong.
CallOptions parse_call_options(std::string_view options_json);

// The conversation the host sent with a prompt (ABI 2.2), borrowed for the call.
struct ConversationTurn {
  std::string_view role;  // "user" or "assistant"
  std::string_view content;
};
struct ConversationInput {
  std::string_view system;                // the host's system prompt; "" for none
  std::vector<ConversationTurn> history;  // earlier turns, oldest first
};

// The request body: {"model", "messages", "stream", and the sampling options that were given}.
// `messages` is options.messages when given, else [{system}?, earlier turns..., {"role":"user",
// "content":text}], where the system message is the `system` option or else the host's.
// A streamed request asks for the usage chunk ("stream_options": {"include_usage": true}).
// For o-series models (o1, o3, o4-mini, ...) max_tokens is sent as max_completion_tokens, the only
// form those models accept.
std::string build_chat_request(std::string_view upstream_model, std::string_view prompt_text,
                               const CallOptions& options, bool stream,
                               const ConversationInput& conversation = {});

}  // namespace llmrt::openai

#endif  // LLMRT_OPENAI_CHAT_REQUEST_HPP
