#include "messages_request.hpp"

#include <boost/json.hpp>

#include "call_options.hpp"
#include "utf8.hpp"

namespace llmrt::anthropic {
namespace {

namespace json = boost::json;
using provider::bad_option;
using provider::integer_option;
using provider::number_option;
using provider::valid_utf8;

constexpr const char* kOptionsSchema = R"json({
  "type": "object",
  "properties": {
    "max_tokens": {"type": "integer", "minimum": 1, "default": 4096,
                   "description": "the most tokens to generate (the API requires it)"},
    "temperature": {"type": "number", "minimum": 0, "maximum": 1,
                    "description": "sampling temperature; higher is more random"},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1,
              "description": "nucleus sampling: keep the tokens of this probability mass"},
    "top_k": {"type": "integer", "minimum": 0,
              "description": "sample only from the k most likely tokens"},
    "stop": {"type": "array", "items": {"type": "string"},
             "description": "sequences at which generation stops (stop_sequences)"},
    "system": {"type": "string", "description": "the system prompt (wins over the host's)"},
    "connect_timeout_ms": {"type": "integer", "minimum": 1, "maximum": 600000, "default": 10000,
                           "description": "how long to wait for the connection"},
    "read_timeout_ms": {"type": "integer", "minimum": 1, "maximum": 3600000, "default": 600000,
                        "description": "the longest wait for the next bytes of the answer"},
    "max_retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2,
                    "description": "retries after a connection error, 408, 409, 429 or 5xx; 0: none"}
  },
  "additionalProperties": false
})json";

// Integers written as 300.0 or 1e16 count as far as int64 reaches, as they always have here.
constexpr provider::WholeDoubles kWholeDoubles = provider::WholeDoubles::kInInt64;

}  // namespace

const char* options_schema() {
  return kOptionsSchema;
}

CallOptions parse_call_options(std::string_view options_json) {
  CallOptions options;
  provider::for_each_option(options_json, [&](std::string_view name, json::value& value) {
    if (name == "max_tokens") {
      options.max_tokens = integer_option(value, name, 1, 1'000'000, kWholeDoubles);
    } else if (name == "temperature") {
      options.temperature = number_option(value, name, 0, 1);
    } else if (name == "top_p") {
      options.top_p = number_option(value, name, 0, 1);
    } else if (name == "top_k") {
      options.top_k = integer_option(value, name, 0, 1'000'000, kWholeDoubles);
    } else if (name == "stop") {
      if (value.is_string()) {
        options.stop.emplace_back(value.as_string());
      } else if (value.is_array()) {
        for (const json::value& item : value.as_array()) {
          if (!item.is_string()) bad_option(name, "an array of strings");
          options.stop.emplace_back(item.as_string());
        }
      } else {
        bad_option(name, "an array of strings");
      }
    } else if (name == "system") {
      if (!value.is_string()) bad_option(name, "a string");
      options.system = std::string(value.as_string());
    } else {
      return provider::take_transport_option(name, value, kWholeDoubles, options);
    }
    return true;
  });
  return options;
}

std::string build_messages_request(std::string_view upstream_model, std::string_view prompt_text,
                                   const CallOptions& options, bool stream,
                                   std::string_view host_system, const std::vector<Turn>& history) {
  json::object body;
  body["model"] = upstream_model;
  body["max_tokens"] = options.max_tokens;
  if (options.system) {
    body["system"] = valid_utf8(*options.system);
  } else if (!host_system.empty()) {
    body["system"] = valid_utf8(host_system);
  }
  json::array messages;
  for (const Turn& turn : history) {
    messages.push_back(
        json::object{{"role", valid_utf8(turn.role)}, {"content", valid_utf8(turn.content)}});
  }
  messages.push_back(json::object{{"role", "user"}, {"content", valid_utf8(prompt_text)}});
  body["messages"] = std::move(messages);
  if (stream) body["stream"] = true;
  if (options.temperature) body["temperature"] = *options.temperature;
  if (options.top_p) body["top_p"] = *options.top_p;
  if (options.top_k) body["top_k"] = *options.top_k;
  if (!options.stop.empty()) {
    json::array stop;
    for (const std::string& sequence : options.stop)
      stop.push_back(json::string(valid_utf8(sequence)));
    body["stop_sequences"] = std::move(stop);
  }
  return json::serialize(body);
}

}  // namespace llmrt::anthropic
