#include "call_options.hpp"

#include <llmrt/sdk.hpp>

#include <boost/json.hpp>
#include <cmath>
#include <string>

namespace llmrt::provider {
namespace {

namespace json = boost::json;

// WholeDoubles::kBelow9e15: the integer a whole double below 9e15 in magnitude holds.
bool whole_below_9e15(const json::value& value, std::int64_t& number) {
  const double d = value.as_double();
  if (std::trunc(d) != d || std::abs(d) >= 9.0e15) return false;
  number = static_cast<std::int64_t>(d);
  return true;
}

}  // namespace

void bad_option(std::string_view name, std::string_view must) {
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
                            std::int64_t high, WholeDoubles whole_doubles) {
  std::int64_t number = 0;
  bool integer = false;
  if (value.is_double() && whole_doubles == WholeDoubles::kBelow9e15) {
    integer = whole_below_9e15(value, number);
  } else if (value.is_number()) {
    // int64 as it is; uint64 (only past INT64_MAX from a parser) never fits; doubles whole and
    // within int64.
    boost::system::error_code ec;
    number = value.to_number<std::int64_t>(ec);
    integer = !ec;
  }
  if (!integer) bad_option(name, "an integer");
  if (number < low || number > high) {
    bad_option(name, "an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return number;
}

void for_each_option(std::string_view options_json, const OptionTaker& take) {
  if (options_json.empty()) return;
  boost::system::error_code ec;
  json::value parsed = json::parse(options_json, ec);
  if (ec || !parsed.is_object()) {
    throw sdk::Error(LLMRT_BAD_REQUEST, "the options must be a JSON object");
  }
  for (auto& [name, value] : parsed.as_object()) {
    if (!take(name, value)) {
      throw sdk::Error(LLMRT_BAD_REQUEST, "unknown option '" + std::string(name) + "'");
    }
  }
}

bool take_transport_option(std::string_view name, const json::value& value,
                           WholeDoubles whole_doubles, TransportOptions& options) {
  if (name == "connect_timeout_ms") {
    options.connect_timeout =
        std::chrono::milliseconds(integer_option(value, name, 1, 600000, whole_doubles));
  } else if (name == "read_timeout_ms") {
    options.read_timeout =
        std::chrono::milliseconds(integer_option(value, name, 1, 3600000, whole_doubles));
  } else if (name == "max_retries") {
    options.max_retries = static_cast<int>(integer_option(value, name, 0, 10, whole_doubles));
  } else {
    return false;
  }
  return true;
}

}  // namespace llmrt::provider
