// RFC 3339 times, as the credential command prints its expiry: "2025-06-01T12:00:00Z".
#ifndef LLMRT_CREDENTIALS_RFC3339_HPP
#define LLMRT_CREDENTIALS_RFC3339_HPP

#include <optional>
#include <string>
#include <string_view>

#include "credential.hpp"

namespace llmrt::credentials {

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; "t", "z" and a space for "T" are
// accepted too. nullopt for anything else, including impossible dates.
std::optional<Credential::Clock::time_point> parse_rfc3339(std::string_view text);

// "2025-06-01T12:00:00Z" (UTC, whole seconds).
std::string format_rfc3339(Credential::Clock::time_point when);

}  // namespace llmrt::credentials

#endif  // LLMRT_CREDENTIALS_RFC3339_HPP
