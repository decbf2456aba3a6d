#include "chat_request.hpp"

#include <llmrt/sdk.hpp>

#include <boost/json.hpp>
#include <cmath>

namespace llmrt::openai {
namespace {

namespace json = boost::json;

constexpr const char* kOptionsSchema = R"json({
  "type": "object",
  "properties": {
    "temperature": {"type": "number", "minimum": 0, "maximum": 2,
                    "description": "sampling temperature; higher is more random"},
    "max_tokens": {"type": "integer", "minimum": 1,
                   "description": "the most tokens to generate"},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1,
              "description": "nucleus sampling: keep the tokens of this probability mass"},
    "seed": {"type": "integer", "description": "ask for reproducible sampling (best effort)"},
    "stop": {"type": "array", "items": {"type": "string"},
             "description": "up to 4 sequences at which generation stops, eg: [\"\\n\\n\"]"},
    "system": {"type": "string", "description": "a system message sent before the prompt"},
    "messages": {"type": "array",
                 "description": "a whole OpenAI messages list, sent as-is instead of the prompt"},
    "connect_timeout_ms": {"type": "integer", "minimum": 1, "maximum": 600000, "default": 10000,
                           "description": "how long to wait for the connection"},
    "read_timeout_ms": {"type": "integer", "minimum": 1, "maximum": 3600000, "default": 60000,
                        "description": "the longest wait for the next bytes of the answer"}
  },
  "additionalProperties": false
})json";

[[noreturn]] void bad_option(std::string_view name, std::string_view must) {
  throw sdk::Error(LLMRT_BAD_REQUEST,
                   "option '" + std::string(name) + "' must be " + std::string(must));
}

double number_option(const json::value& value, std::string_view name, double low, double high) {
  if (!value.is_number()) bad_option(name, "a number");
  const double number = value.to_number<double>();
  if (!std::isfinite(number) || number < low || number > high) {
    bad_option(name, "a number from " + json::serialize(json::value(low)) + " to " +
                         json::serialize(json::value(high)));
  }
  return number;
}

std::int64_t integer_option(const json::value& value, std::string_view name, std::int64_t low,
                            std::int64_t high) {
  std::int64_t number = 0;
  if (value.is_int64()) {
    number = value.as_int64();
  } else if (value.is_uint64() && value.as_uint64() <= static_cast<std::uint64_t>(high)) {
    number = static_cast<std::int64_t>(value.as_uint64());
  } else if (value.is_double() && std::trunc(value.as_double()) == value.as_double() &&
             std::abs(value.as_double()) < 9.0e15) {
    number = static_cast<std::int64_t>(value.as_double());
  } else {
    bad_option(name, "an integer");
  }
  if (number < low || number > high) {
    bad_option(name, "an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return number;
}

// o-series reasoning models (o1, o3-mini, o4-mini, ...) and gpt-5 refuse "max_tokens".
bool wants_max_completion_tokens(std::string_view model) {
  if (model.size() >= 2 && model[0] == 'o' && model[1] >= '0' && model[1] <= '9') return true;
  return model.starts_with("gpt-5");
}

// The prompt may hold any bytes; JSON text must be UTF-8. Invalid sequences become U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t min = 0;
    if (byte < 0x80) {
      out.push_back(text[i++]);
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2;
      min = 0x80;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3;
      min = 0x800;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4;
      min = 0x10000;
    }
    bool ok = length > 0 && i + length <= text.size();
    std::uint32_t code = length > 0 ? (byte & (0xFF >> (length + 1))) : 0;
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    ok = ok && code >= min && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace

const char* options_schema() {
  return kOptionsSchema;
}

CallOptions parse_call_options(std::string_view options_json) {
  CallOptions options;
  if (options_json.empty()) return options;
  boost::system::error_code ec;
  json::value parsed = json::parse(options_json, ec);
  if (ec || !parsed.is_object()) {
    throw sdk::Error(LLMRT_BAD_REQUEST, "the options must be a JSON object");
  }
  for (auto& [name_view, value] : parsed.as_object()) {
    const std::string_view name = name_view;
    if (name == "temperature") {
      options.temperature = number_option(value, name, 0, 2);
    } else if (name == "top_p") {
      options.top_p = number_option(value, name, 0, 1);
    } else if (name == "max_tokens") {
      options.max_tokens = integer_option(value, name, 1, INT64_MAX);
    } else if (name == "seed") {
      options.seed = integer_option(value, name, INT64_MIN, INT64_MAX);
    } else if (name == "stop") {
      if (value.is_string()) {
        options.stop = value;
      } else if (value.is_array()) {
        for (const json::value& item : value.as_array()) {
          if (!item.is_string()) bad_option(name, "an array of strings");
        }
        if (!value.as_array().empty()) options.stop = value;
      } else {
        bad_option(name, "an array of strings");
      }
    } else if (name == "system") {
      if (!value.is_string()) bad_option(name, "a string");
      options.system = std::string(value.as_string());
    } else if (name == "messages") {
      if (!value.is_array() || value.as_array().empty()) {
        bad_option(name, "a non-empty array of message objects");
      }
      for (const json::value& message : value.as_array()) {
        if (!message.is_object() || !message.as_object().contains("role")) {
          bad_option(name, "a non-empty array of message objects, each with a \"role\"");
        }
      }
      options.messages = std::move(value.as_array());
    } else if (name == "connect_timeout_ms") {
      options.connect_timeout = std::chrono::milliseconds(integer_option(value, name, 1, 600000));
    } else if (name == "read_timeout_ms") {
      options.read_timeout = std::chrono::milliseconds(integer_option(value, name, 1, 3600000));
    } else {
      throw sdk::Error(LLMRT_BAD_REQUEST, "unknown option '" + std::string(name) + "'");
    }
  }
  return options;
}

std::string build_chat_request(std::string_view upstream_model, std::string_view prompt_text,
                               const CallOptions& options, bool stream,
                               const ConversationInput& conversation) {
  json::object body;
  body["model"] = upstream_model;
  if (options.messages) {
    body["messages"] = *options.messages;
  } else {
    json::array messages;
    if (options.system) {
      messages.push_back(
          json::object{{"role", "system"}, {"content", valid_utf8(*options.system)}});
    } else if (!conversation.system.empty()) {
      messages.push_back(
          json::object{{"role", "system"}, {"content", valid_utf8(conversation.system)}});
    }
    for (const ConversationTurn& turn : conversation.history) {
      messages.push_back(
          json::object{{"role", valid_utf8(turn.role)}, {"content", valid_utf8(turn.content)}});
    }
    messages.push_back(json::object{{"role", "user"}, {"content", valid_utf8(prompt_text)}});
    body["messages"] = std::move(messages);
  }
  body["stream"] = stream;
  if (stream) body["stream_options"] = json::object{{"include_usage", true}};
  if (options.temperature) body["temperature"] = *options.temperature;
  if (options.top_p) body["top_p"] = *options.top_p;
  if (options.max_tokens) {
    body[wants_max_completion_tokens(upstream_model) ? "max_completion_tokens" : "max_tokens"] =
        *options.max_tokens;
  }
  if (options.seed) body["seed"] = *options.seed;
  if (options.stop) body["stop"] = *options.stop;
  return json::serialize(body);
}

}  // namespace llmrt::openai
