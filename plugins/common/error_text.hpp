// Turning what went wrong into an llmrt status and a message fit to show: HTTP statuses, provider
// error bodies, transport failures. Every message goes through scrub(): providers echo keys back
// (eg: "Incorrect API key provided: sk-proj-...") and a message must never carry one.
#ifndef LLMRT_PROVIDER_ERROR_TEXT_HPP
#define LLMRT_PROVIDER_ERROR_TEXT_HPP

#include <llmrt/plugin.h>

#include <string>
#include <string_view>

namespace llmrt::provider {

// What replaces a secret in a message.
inline constexpr std::string_view kRedacted = "[redacted]";

// Replaces with "[redacted]":
//  - `key` (the call's key, when not empty), raw and JSON-escaped, wherever it appears;
//  - anything that looks like an OpenAI-style key: "sk-" (not preceded by a letter or digit)
//    followed by key characters [A-Za-z0-9_-];
//  - the token after "Bearer " (any case): "Bearer [redacted]".
// Control characters become spaces, so a message stays on one line.
std::string scrub(std::string_view text, std::string_view key);

// The status for an HTTP error status: 400/404 (and other 4xx) -> LLMRT_BAD_REQUEST,
// 401/403 -> LLMRT_KEY_REJECTED, 408/429/5xx -> LLMRT_UNAVAILABLE, anything else -> LLMRT_FAILED.
llmrt_status status_for_http(int http_status);

// What the provider said in an error body: error.message, or error when it is a string, or a
// top-level message/detail; else the start of the body itself. Not scrubbed. May be empty.
std::string provider_message(std::string_view body);

// The message for an HTTP error, eg:
//   "HTTP 401 (Unauthorized) from https://api.openai.com/v1/chat/completions: Incorrect API key
//    provided: [redacted]"
// scrubbed of `key`.
std::string http_error_message(int http_status, std::string_view url, std::string_view body,
                               std::string_view upstream_model, std::string_view key);

// Throws llmrt::sdk::Error(status_for_http(http_status), http_error_message(...)).
[[noreturn]] void throw_http_error(int http_status, std::string_view url, std::string_view body,
                                   std::string_view upstream_model, std::string_view key);

// Throws llmrt::sdk::Error(status, scrub(message, key)).
[[noreturn]] void throw_error(llmrt_status status, std::string_view message, std::string_view key);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_ERROR_TEXT_HPP
