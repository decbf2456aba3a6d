// Text sent as JSON must be UTF-8; a prompt may hold any bytes.
#ifndef LLMRT_PROVIDER_UTF8_HPP
#define LLMRT_PROVIDER_UTF8_HPP

#include <string>
#include <string_view>

namespace llmrt::provider {

// `text` with each invalid UTF-8 sequence (overlong forms, surrogates, stray bytes) replaced by
// U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_UTF8_HPP
