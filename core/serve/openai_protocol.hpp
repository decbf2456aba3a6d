// The OpenAI Chat Completions wire format, as the gateway speaks it: request parsing with precise
// 400 errors, response and SSE chunk bodies, and the error shape {"error": {...}}.
#ifndef LLMRT_SERVE_OPENAI_PROTOCOL_HPP
#define LLMRT_SERVE_OPENAI_PROTOCOL_HPP

#include <llmrt/error.hpp>
#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::serve {

// A request the gateway cannot accept, with the field at fault (empty when none).
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(std::string param, const std::string& message)
      : std::runtime_error(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

struct ChatRequest {
  std::string model;
  bool stream = false;
  std::string last_user_text;    // the content of the last "user" message
  std::string system_text;       // the "system"/"developer" messages, joined by blank lines
  boost::json::array messages;   // the messages as sent
  boost::json::object sampling;  // temperature, top_p, max_tokens, seed, stop: as sent
  // The user and assistant messages before the last user message, oldest first: the history a
  // model that reads conversations gets (the last user message is the prompt).
  std::vector<Message> history;
  // Why `messages` cannot be sent as system + history + prompt (eg: a "tool" message, or a message
  // after the last user message), and the message at fault; empty when it can.
  std::string not_a_conversation;
  std::string not_a_conversation_param;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
};

// Parses a POST /v1/chat/completions body. Throws ProtocolError naming the field at fault.
ChatRequest parse_chat_request(std::string_view body);

// One completion's identity, shared by all of its chunks.
struct CompletionId {
  std::string id;  // "chatcmpl-<24 hex>"
  std::int64_t created = 0;
  std::string model;
  static CompletionId make(std::string model);
};

// OpenAI's usage object for what the plugin reported: {"prompt_tokens", "completion_tokens",
// "total_tokens"}, a count the plugin marked unknown left out (and the total with it), and the
// provider's "prompt_tokens_details" / "completion_tokens_details" when its details carry them.
// null when the plugin reported nothing.
boost::json::value usage_json(const std::optional<Usage>& usage);

// A chat.completion; "usage" is left out when the plugin reported none.
std::string completion_body(const CompletionId& id, std::string_view text,
                            const std::optional<Usage>& usage);
// "data: {...chat.completion.chunk...}\n\n" carrying `content` (and the role on the first chunk).
// `usage_field`: the chunk carries "usage": null, as OpenAI's do when the client asked for usage.
std::string chunk_event(const CompletionId& id, std::string_view content, bool first,
                        bool usage_field = false);
// The closing chunk (finish_reason "stop"), with `include_usage` a last chunk with "choices": []
// and "usage" (null when the plugin reported none), then "data: [DONE]".
std::string final_events(const CompletionId& id, bool include_usage,
                         const std::optional<Usage>& usage);
// An SSE comment line (ignored by clients that do not look): ": llmrt-warning: TEXT\n\n".
std::string warning_comment(std::string_view warning);

struct HttpError {
  int status;
  std::string_view type;  // OpenAI's error type, eg: "invalid_request_error"
  std::string_view code;  // eg: "model_not_found"; may be empty
};

HttpError http_error_for(ErrorCode code);
std::string error_body(std::string_view message, std::string_view type, std::string_view code,
                       std::string_view param);
// An error inside an SSE stream that has already started: "data: {\"error\":...}\n\n".
std::string error_event(std::string_view message, std::string_view type, std::string_view code);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_OPENAI_PROTOCOL_HPP
