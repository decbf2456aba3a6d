#include "chat_request.hpp"

#include <boost/json.hpp>

#include "call_options.hpp"
#include "utf8.hpp"

namespace llmrt::openai {
namespace {

namespace json = boost::json;
using provider::bad_option;
using provider::integer_option;
using provider::number_option;
using provider::valid_utf8;

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
                        "description": "the longest wait for the next bytes of the answer"},
    "max_retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2,
                    "description": "retries after a connection error, 408, 409, 429 or 5xx; 0: none"}
  },
  "additionalProperties": false
})json";

// Integers written as 300.0 or 1e3 count up to 9e15, as they always have here.
constexpr provider::WholeDoubles kWholeDoubles = provider::WholeDoubles::kBelow9e15;

// o-series reasoning models (o1, o3-mini, o4-mini, ...) and gpt-5 refuse "max_tokens".
bool wants_max_completion_tokens(std::string_view model) {
  if (model.size() >= 2 && model[0] == 'o' && model[1] >= '0' && model[1] <= '9') return true;
  return model.starts_with("gpt-5");
}

}  // namespace

const char* options_schema() {
  return kOptionsSchema;
}

CallOptions parse_call_options(std::string_view options_json) {
  CallOptions options;
  provider::for_each_option(options_json, [&](std::string_view name, json::value& value) {
    if (name == "temperature") {
      options.temperature = number_option(value, name, 0, 2);
    } else if (name == "top_p") {
      options.top_p = number_option(value, name, 0, 1);
    } else if (name == "max_tokens") {
      options.max_tokens = integer_option(value, name, 1, INT64_MAX, kWholeDoubles);
    } else if (name == "seed") {
      options.seed = integer_option(value, name, INT64_MIN, INT64_MAX, kWholeDoubles);
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
    } else {
      return provider::take_transport_option(name, value, kWholeDoubles, options);
    }
    return true;
  });
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
