#include "openai_protocol.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "json_numbers.hpp"
#include "random_ids.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

// "content" is a string, or an array of parts of which the text parts count.
std::string content_text(const json::value& content, const std::string& param) {
  if (content.is_string()) return std::string(content.as_string());
  if (content.is_null()) return {};
  if (!content.is_array()) throw ProtocolError(param, param + " must be a string or an array");
  std::string text;
  for (const auto& part : content.as_array()) {
    const json::object* object = part.if_object();
    if (object == nullptr) throw ProtocolError(param, param + " parts must be objects");
    const json::value* type = object->if_contains("type");
    const json::value* part_text = object->if_contains("text");
    if (type != nullptr && type->is_string() && type->as_string() == "text" &&
        part_text != nullptr && part_text->is_string()) {
      text += part_text->as_string();
    } else {
      throw ProtocolError(param, "only text content parts are supported");
    }
  }
  return text;
}

void copy_number(const json::object& body, json::object& out, std::string_view name, bool integer) {
  const json::value* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return;
  const bool ok = integer ? (value->is_int64() || value->is_uint64()) : value->is_number();
  if (!ok) {
    throw ProtocolError(std::string(name),
                        std::string(name) + " must be " + (integer ? "an integer" : "a number"));
  }
  out[name] = *value;
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body) {
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) throw ProtocolError("", "the request body is not valid JSON (" + ec.message() + ")");
  json::object* root = parsed.if_object();
  if (root == nullptr) throw ProtocolError("", "the request body must be a JSON object");
  // Anywhere in the body (a sampling parameter, a field of a message): no model can be given it.
  if (const std::optional<std::string> at = non_finite_number_at(parsed)) {
    throw ProtocolError(*at, *at + " must be a finite number");
  }

  ChatRequest request;
  const json::value* model = root->if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty()) {
    throw ProtocolError("model", "model must be a non-empty string");
  }
  request.model = std::string(model->as_string());

  if (const json::value* stream = root->if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) throw ProtocolError("stream", "stream must be true or false");
    request.stream = stream->as_bool();
  }
  if (const json::value* n = root->if_contains("n"); n && !n->is_null()) {
    if (!(n->is_int64() && n->as_int64() == 1)) throw ProtocolError("n", "only n = 1 is supported");
  }

  json::value* messages = root->if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    throw ProtocolError("messages", "messages must be a non-empty array");
  }
  request.messages = std::move(messages->as_array());  // same memory resource: no copy
  bool has_user = false;
  // Every message's role and text, to split the conversation once the last user message is known.
  std::vector<std::pair<std::string, std::string>> turns;
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json::object* message = request.messages[i].if_object();
    if (message == nullptr) throw ProtocolError(param, param + " must be an object");
    const json::value* role = message->if_contains("role");
    if (role == nullptr || !role->is_string()) {
      throw ProtocolError(param + ".role", param + ".role must be a string");
    }
    const json::value* content = message->if_contains("content");
    const std::string text = content ? content_text(*content, param + ".content") : std::string();
    turns.emplace_back(std::string(role->as_string()), text);
    if (role->as_string() == "user") {
      request.last_user_text = text;
      has_user = true;
    } else if (role->as_string() == "system" || role->as_string() == "developer") {
      request.system_text += (request.system_text.empty() ? "" : "\n\n") + text;
    }
  }
  if (!has_user) throw ProtocolError("messages", "messages must contain a user message");
  std::size_t last_user = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].first == "user") last_user = i;
  }
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const auto& [role, text] = turns[i];
    if (role == "system" || role == "developer") continue;
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (role != "user" && role != "assistant") {
      if (request.not_a_conversation.empty()) {
        request.not_a_conversation = param + " has role '" + role.substr(0, 64) +
                                     "'; a conversation is sent with system, developer, user and "
                                     "assistant messages only";
        request.not_a_conversation_param = param + ".role";
      }
    } else if (i > last_user) {
      if (request.not_a_conversation.empty()) {
        request.not_a_conversation =
            param + " comes after the last user message; the last user message is the prompt";
        request.not_a_conversation_param = param;
      }
    } else if (i < last_user) {
      request.history.push_back({role, text});
    }
  }

  if (const json::value* options = root->if_contains("stream_options");
      options && !options->is_null()) {
    if (!options->is_object()) {
      throw ProtocolError("stream_options", "stream_options must be an object");
    }
    if (!request.stream) {
      throw ProtocolError("stream_options", "stream_options is only allowed when stream is true");
    }
    const json::value* include = options->as_object().if_contains("include_usage");
    if (include != nullptr && !include->is_null()) {
      if (!include->is_bool()) {
        throw ProtocolError("stream_options.include_usage",
                            "stream_options.include_usage must be true or false");
      }
      request.include_usage = include->as_bool();
    }
  }

  copy_number(*root, request.sampling, "temperature", false);
  copy_number(*root, request.sampling, "top_p", false);
  copy_number(*root, request.sampling, "seed", true);
  copy_number(*root, request.sampling, "max_tokens", true);
  if (const json::value* max = root->if_contains("max_completion_tokens"); max && !max->is_null()) {
    if (!max->is_int64()) {
      throw ProtocolError("max_completion_tokens", "max_completion_tokens must be an integer");
    }
    request.sampling["max_tokens"] = *max;
  }
  if (const json::value* stop = root->if_contains("stop"); stop && !stop->is_null()) {
    json::array stops;
    if (stop->is_string()) {
      stops.push_back(*stop);
    } else if (stop->is_array()) {
      for (const auto& item : stop->as_array()) {
        if (!item.is_string()) throw ProtocolError("stop", "stop must be a string or strings");
        stops.push_back(item);
      }
    } else {
      throw ProtocolError("stop", "stop must be a string or an array of strings");
    }
    request.sampling["stop"] = std::move(stops);
  }
  return request;
}

CompletionId CompletionId::make(std::string model) {
  std::string id = random_id("chatcmpl-");
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {std::move(id), std::chrono::duration_cast<std::chrono::seconds>(now).count(),
          std::move(model)};
}

json::value usage_json(const std::optional<Usage>& usage) {
  if (!usage) return nullptr;
  json::object object;
  if (usage->input_tokens >= 0) object["prompt_tokens"] = usage->input_tokens;
  if (usage->output_tokens >= 0) object["completion_tokens"] = usage->output_tokens;
  if (usage->input_tokens >= 0 && usage->output_tokens >= 0) {
    object["total_tokens"] = usage->input_tokens + usage->output_tokens;
  }
  if (!usage->details_json.empty()) {
    boost::system::error_code ec;
    const json::value details = json::parse(usage->details_json, ec);
    if (!ec && details.is_object()) {
      for (const char* name : {"prompt_tokens_details", "completion_tokens_details"}) {
        const json::value* part = details.as_object().if_contains(name);
        if (part != nullptr && part->is_object()) object[name] = *part;
      }
    }
  }
  return object;
}

// Written straight into one string, field by field in the order the tree gave them, rather than
// built as a JSON tree and serialized: every request pays for it. Strings go through Boost.JSON's
// serializer (escaping); the rest is fixed text or a number.
std::string completion_body(const CompletionId& id, std::string_view text,
                            const std::optional<Usage>& usage) {
  std::string body;
  body.reserve(192 + id.model.size() + text.size() + text.size() / 8);
  body += R"({"id":)";
  body += json::serialize(json::string_view(id.id));
  body += R"(,"object":"chat.completion","created":)";
  body += std::to_string(id.created);
  body += R"(,"model":)";
  body += json::serialize(json::string_view(id.model));
  body += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  body += json::serialize(json::string_view(text.data(), text.size()));
  body += R"(},"finish_reason":"stop"}])";
  if (usage) {
    body += R"(,"usage":)";
    body += json::serialize(usage_json(usage));
  }
  body += '}';
  return body;
}

std::string chunk_event(const CompletionId& id, std::string_view content, bool first,
                        bool usage_field) {
  json::object delta;
  if (first) delta["role"] = "assistant";
  delta["content"] = content;
  json::object chunk{{"id", id.id},
                     {"object", "chat.completion.chunk"},
                     {"created", id.created},
                     {"model", id.model}};
  chunk["choices"] = json::array{
      json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}};
  if (usage_field) chunk["usage"] = nullptr;
  return "data: " + json::serialize(chunk) + "\n\n";
}

std::string final_events(const CompletionId& id, bool include_usage,
                         const std::optional<Usage>& usage) {
  json::object chunk{{"id", id.id},
                     {"object", "chat.completion.chunk"},
                     {"created", id.created},
                     {"model", id.model}};
  chunk["choices"] =
      json::array{json::object{{"index", 0}, {"delta", json::object{}}, {"finish_reason", "stop"}}};
  std::string events;
  if (include_usage) {
    chunk["usage"] = nullptr;
    events = "data: " + json::serialize(chunk) + "\n\n";
    chunk["choices"] = json::array{};
    chunk["usage"] = usage_json(usage);
  }
  return events + "data: " + json::serialize(chunk) + "\n\ndata: [DONE]\n\n";
}

std::string warning_comment(std::string_view warning) {
  std::string line = ": llmrt-warning: ";
  for (char c : warning) line += (c == '\n' || c == '\r') ? ' ' : c;  // one comment line
  return line + "\n\n";
}

HttpError http_error_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::usage:
    case ErrorCode::bad_request:
      return {400, "invalid_request_error", ""};
    case ErrorCode::model_not_found:
      return {404, "invalid_request_error", "model_not_found"};
    case ErrorCode::key_missing:
      return {401, "authentication_error", "missing_api_key"};
    case ErrorCode::key_invalid:
      return {401, "authentication_error", "invalid_api_key"};
    case ErrorCode::key_rejected:
      return {401, "authentication_error", "invalid_api_key"};
    case ErrorCode::busy:
      return {503, "server_error", "overloaded"};
    case ErrorCode::unavailable:
      return {502, "upstream_error", "upstream_unavailable"};
    case ErrorCode::plugin_crashed:  // plugin isolation (docs/isolation.md)
      return {502, "server_error", "plugin_crashed"};
    case ErrorCode::plugin_unavailable:
      return {503, "server_error", "plugin_unavailable"};
    case ErrorCode::timeout:
      return {504, "server_error", "timeout"};
    case ErrorCode::output_too_large:
      return {502, "server_error", "output_too_large"};
    case ErrorCode::keys_file:
    case ErrorCode::credential_source:
    case ErrorCode::plugin_load:
    case ErrorCode::plugin_failed:
    case ErrorCode::io:
      return {500, "server_error", ""};
  }
  return {500, "server_error", ""};
}

std::string error_body(std::string_view message, std::string_view type, std::string_view code,
                       std::string_view param) {
  json::object error{{"message", message}, {"type", type}};
  error["param"] = param.empty() ? json::value(nullptr) : json::value(param);
  error["code"] = code.empty() ? json::value(nullptr) : json::value(code);
  return json::serialize(json::object{{"error", std::move(error)}});
}

std::string error_event(std::string_view message, std::string_view type, std::string_view code) {
  return "data: " + error_body(message, type, code, "") + "\n\n";
}

}  // namespace llmrt::serve
