// One scrubbing rule for every secret a call knows (the key, the session token, whatever a
// credential command printed): applied to a whole message before it is cut to the length shown,
// so that no secret, and no piece of one, survives a cut.
//
// Threading: pure functions. Errors: never throw anything but std::bad_alloc.
#ifndef LLMRT_SCRUB_HPP
#define LLMRT_SCRUB_HPP

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace llmrt {

// The shortest run of a secret's bytes that is scrubbed wherever it appears. Shorter secrets are
// scrubbed where they appear whole.
inline constexpr std::size_t kSecretFragment = 8;

// What replaces each scrubbed span.
inline constexpr std::string_view kRedacted = "[redacted]";

// `message` with every span made of secret bytes replaced by kRedacted: each occurrence of a
// secret, and each run of kSecretFragment or more consecutive bytes of one (a secret cut in two,
// or a provider echoing its first 20 characters). Then control characters become spaces and the
// result is cut to `max_size` bytes, "..." marking the cut. Empty secrets are ignored.
std::string scrub_secrets(std::string_view message, std::span<const std::string_view> secrets,
                          std::size_t max_size);
inline std::string scrub_secrets(std::string_view message,
                                 std::initializer_list<std::string_view> secrets,
                                 std::size_t max_size) {
  return scrub_secrets(message, std::span<const std::string_view>(secrets.begin(), secrets.size()),
                       max_size);
}

}  // namespace llmrt

#endif  // LLMRT_SCRUB_HPP
