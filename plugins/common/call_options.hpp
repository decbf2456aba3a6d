// What the provider plugins share in reading a call's options (the JSON object the host checked
// against the plugin's schema already; a plugin checks again, since another host may not): the
// walk over the object, the checks of numbers and their messages, and the transport options every
// provider has (timeouts, retries). Which options a provider has, their bounds and defaults stay
// in its plugin.
//
// Every function here runs on the calling thread and keeps nothing. Errors are thrown as
// llmrt::sdk::Error(LLMRT_BAD_REQUEST) with a message that names the option and what it must be
// (eg: "option 'top_p' must be a number from 0 to 1"); options hold no secrets.
#ifndef LLMRT_PROVIDER_CALL_OPTIONS_HPP
#define LLMRT_PROVIDER_CALL_OPTIONS_HPP

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace llmrt::provider {

// Throws sdk::Error(LLMRT_BAD_REQUEST, "option '<name>' must be <must>").
[[noreturn]] void bad_option(std::string_view name, std::string_view must);

// `value` as a finite number in [low, high]. Else bad_option: "a number" for a value that is not a
// number, "a number from <low> to <high>" for one out of range.
double number_option(const boost::json::value& value, std::string_view name, double low,
                     double high);

// Which numbers written with a fraction or an exponent (eg: 300.0, 1e3) count as integers. The
// provider plugins have always differed here, so each names its own rule:
enum class WholeDoubles {
  // Whole and below 9e15 in magnitude (where a double still holds every integer exactly); a
  // larger one "must be an integer" whatever the bounds (openai).
  kBelow9e15,
  // Whole and within int64 (Boost.JSON's to_number<std::int64_t>), then checked against the bounds
  // like any integer: 1e16 is "an integer from <low> to <high>" (anthropic).
  kInInt64,
};

// `value` as an integer in [low, high]. Else bad_option: "an integer" for a value that is not a
// number, has a fraction, is past int64 or is a double `whole_doubles` does not count; "an integer
// from <low> to <high>" for one out of range.
std::int64_t integer_option(const boost::json::value& value, std::string_view name,
                            std::int64_t low, std::int64_t high, WholeDoubles whole_doubles);

// Called with each option's name and value (which it may move from); returns false for a name the
// plugin does not know.
using OptionTaker = std::function<bool(std::string_view name, boost::json::value& value)>;

// Parses `options_json` ("" means no options) and hands each member to `take`, in order. Throws
// sdk::Error(LLMRT_BAD_REQUEST): "the options must be a JSON object" when it is not one (or not
// JSON), "unknown option '<name>'" when `take` returns false, or what `take` threw.
void for_each_option(std::string_view options_json, const OptionTaker& take);

// The options every provider plugin has for its HTTP calls. A plugin's CallOptions derives from it
// and chooses its defaults (eg: Anthropic's SDKs wait 10 minutes for an answer, OpenAI's 1).
struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10000};  // "connect_timeout_ms", 1..600000
  std::chrono::milliseconds read_timeout{60000};     // "read_timeout_ms", 1..3600000
  int max_retries = 2;  // "max_retries", 0..10: retries after a transient failure
};

// What one provider call sends, and its timeouts and retries. A plugin's call derives from it
// (and sets its own defaults, eg: a longer read timeout).
struct ProviderCall : TransportOptions {
  std::string body;      // the request JSON
  bool stream = false;   // the body asks for a stream: expect server-sent events
  std::string_view key;  // the call's key, borrowed; empty: no key header
};

// Reads `name` into `options` when it is one of the transport options above (bad_option when its
// value is wrong) and returns true; returns false for any other name.
bool take_transport_option(std::string_view name, const boost::json::value& value,
                           WholeDoubles whole_doubles, TransportOptions& options);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_CALL_OPTIONS_HPP
