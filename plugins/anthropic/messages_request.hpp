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

namespace llmrt::anthropic {

// The API requires max_tokens; this is sent when the call does not give one.
inline constexpr std::int64_t kDefaultMaxTokens = 4096;

// The options schema of every model of the plugin.
const char* options_schema();

struct CallOptions {
  std::int64_t max_tokens = kDefaultMaxTokens;  // >= 1
  std::optional<double> temperature;            // 0..1
  std::optional<double> top_p;                  // 0..1
  std::optional<std::int64_t> top_k;            // >= 0
  std::vector<std::string> stop;                // "stop_sequences"
  std::optional<std::string> system;            // wins over the host's system prompt
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{600000};  // Anthropic's SDKs wait 10 minutes
  int max_retries = 2;
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
