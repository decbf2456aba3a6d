// Case and character classes for protocol text (URL schemes, header values, "Bearer", ids): ASCII
// only, whatever the locale, and never touching the bytes of a UTF-8 character. Pure functions,
// safe on any thread.
#ifndef LLMRT_PROVIDER_ASCII_HPP
#define LLMRT_PROVIDER_ASCII_HPP

#include <cstddef>
#include <string_view>

namespace llmrt::provider {

// A-Z, a-z or 0-9.
inline bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// `c` with A-Z made a-z; every other byte as it is.
inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `text` starts with `lower_prefix` (given in lower case) in any ASCII case, eg:
// starts_with_nocase("Text/Event-Stream; charset=utf-8", "text/event-stream") is true.
inline bool starts_with_nocase(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    if (ascii_lower(text[i]) != lower_prefix[i]) return false;
  }
  return true;
}

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_ASCII_HPP
