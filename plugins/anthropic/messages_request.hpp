// A call's options and the Messages API request body built from them
// (https://docs.anthropic.com/en/api/messages).
#ifndef LLMRT_ANTHROPIC_MESSAGES_REQUEST_HPP
#define LLMRT_ANTHROPIC_MESSAGES_REQUEST_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "call_options.hpp"

namespace llmrt::anthropic {

// The API requires max_tokens; this is sent when the call does not give one.
inline constexpr std::int64_t kDefaultMaxTokens = 4096;

// The options schema of every model of the plugin.
const char* options_schema();

// The sampling options, and the transport options (provider::TransportOptions) with Anthropic's
// defaults: connect_timeout 10 s, read_timeout 10 minutes (as Anthropic's SDKs), max_retries 2.
struct CallOptions : provider::TransportOptions {
  CallOptions() : provider::TransportOptions{.read_timeout = std::chrono::minutes(10)} {}

  std::int64_t max_tokens = kDefaultMaxTokens;  // >= 1
  std::optional<double> temperature;            // 0..1
  std::optional<double> top_p;                  // 0..1
  std::optional<std::int64_t> top_k;            // >= 0
  std::vector<std::string> stop;                // "stop_sequences"
  std::optional<std::string> system;            // wins over the host's system prompt
};

// Parses a call's options (checked by the host already; checked again here). Throws
// llmrt::sdk::Error(LLMRT_BAD_REQUEST) naming the option that is wrong.
CallOptions parse_call_options(std::string_view options_json);

struct Turn {
  std::string_view role;  // "user" or "assistant"
  std::string_view content;
};

// {"model", "max_tokens", "messages": [earlier turns..., {"role":"user","content":text}],
//  "system"? (the option, else the host's), "stream"?, "temperature"?, "top_p"?, "top_k"?,
//  "stop_sequences"?}. Text is made valid UTF-8.
std::string build_messages_request(std::string_view upstream_model, std::string_view prompt_text,
                                   const CallOptions& options, bool stream,
                                   std::string_view host_system, const std::vector<Turn>& history);

}  // namespace llmrt::anthropic

#endif  // LLMRT_ANTHROPIC_MESSAGES_REQUEST_HPP
