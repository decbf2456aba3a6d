// The text rules a plugin's descriptors are held to. The host's own validators live in an anonymous
// namespace of core/src/plugin_library.cpp, so they are restated here, rule for rule; the
// load.host_accepts check runs the host's real loader as the final word.
#ifndef LLMRT_CONFORMANCE_TEXT_RULES_HPP
#define LLMRT_CONFORMANCE_TEXT_RULES_HPP

#include <llmrt/plugin.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace llmrt::conformance {

inline constexpr std::size_t kMaxModelIdLength = 128;  // as the host
inline constexpr std::size_t kMaxModels = 4096;        // as the host

bool valid_utf8(std::string_view text);

// Model ids and key names, as the host accepts them: 1-128 of [A-Za-z0-9._:/@+-].
bool valid_model_id(std::string_view id);

// An environment variable name as key_env_var should be: [A-Z0-9_]+.
bool valid_env_var_name(std::string_view name);

// "LLMRT_BAD_REQUEST (3)", or "unknown status 42".
std::string status_name(llmrt_status status);

// `text` safe to print on one line: control bytes and invalid UTF-8 shown as \xNN, cut at `max`.
std::string printable(std::string_view text, std::size_t max = 200);

// "2.0" for a (major << 16) | minor version.
std::string version_string(std::uint32_t version);

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_TEXT_RULES_HPP
