// The OpenAI Chat Completions wire format, as the gateway speaks it: request parsing with precise
// 400 errors, response and SSE chunk bodies, and the error shape {"error": {...}}.
#ifndef LLMRT_SERVE_OPENAI_PROTOCOL_HPP
#define LLMRT_SERVE_OPENAI_PROTOCOL_HPP

#include <llmrt/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

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

std::string completion_body(const CompletionId& id, std::string_view text);
// "data: {...chat.completion.chunk...}\n\n" carrying `content` (and the role on the first chunk).
std::string chunk_event(const CompletionId& id, std::string_view content, bool first);
// The closing chunk (finish_reason "stop" or "length"... here always "stop") and "data: [DONE]".
std::string final_events(const CompletionId& id);

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
