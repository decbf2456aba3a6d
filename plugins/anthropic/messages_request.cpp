#include "messages_request.hpp"

#include <llmrt/sdk.hpp>

#include <boost/json.hpp>
#include <cmath>

#include "utf8.hpp"

namespace llmrt::anthropic {
namespace {

namespace json = boost::json;
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
  boost::system::error_code ec;
  const auto number = value.is_number() ? value.to_number<std::int64_t>(ec) : 0;
  if (!value.is_number() || ec) bad_option(name, "an integer");
  if (number < low || number > high) {
    bad_option(name, "an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return number;
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
    if (name == "max_tokens") {
      options.max_tokens = integer_option(value, name, 1, 1'000'000);
    } else if (name == "temperature") {
      options.temperature = number_option(value, name, 0, 1);
    } else if (name == "top_p") {
      options.top_p = number_option(value, name, 0, 1);
    } else if (name == "top_k") {
      options.top_k = integer_option(value, name, 0, 1'000'000);
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
    } else if (name == "connect_timeout_ms") {
      options.connect_timeout = std::chrono::milliseconds(integer_option(value, name, 1, 600000));
    } else if (name == "read_timeout_ms") {
      options.read_timeout = std::chrono::milliseconds(integer_option(value, name, 1, 3600000));
    } else if (name == "max_retries") {
      options.max_retries = static_cast<int>(integer_option(value, name, 0, 10));
    } else {
      throw sdk::Error(LLMRT_BAD_REQUEST, "unknown option '" + std::string(name) + "'");
    }
  }
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
