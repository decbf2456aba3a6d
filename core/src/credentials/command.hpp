// The external credential command (like AWS's credential_process): llmrt runs it, and it prints
// {"key": "...", "token": "...", "expires_at": "RFC 3339"} on stdout.
#ifndef LLMRT_CREDENTIALS_COMMAND_HPP
#define LLMRT_CREDENTIALS_COMMAND_HPP

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "credentials/credential_cache.hpp"

namespace llmrt::credentials {

// The most a command may print on stdout; more is a failure (the output is held in wiped memory).
inline constexpr std::size_t kMaxCommandOutput = 64 * 1024;
// How much of stderr is kept; only its first line is ever shown, scrubbed of the key.
inline constexpr std::size_t kMaxCommandStderr = 4096;
// The longest stderr line shown in a message.
inline constexpr std::size_t kMaxStderrShown = 200;

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path; run directly, never by a shell
  std::chrono::milliseconds timeout{5000};
};

// Runs the command once: posix_spawn (no shell, no PATH search), stdin from /dev/null, stdout and
// stderr captured through pipes, no other descriptor inherited, in a process group of its own that
// is killed (SIGKILL) when the timeout passes. A command that cannot be started is a fatal failure;
// a timeout, a non-zero exit, a signal, too much output or malformed output are recoverable ones.
// Failure messages never contain the output; they end with the first line of stderr, scrubbed of
// the key and token when the output had them.
FetchResult run_credential_command(const CommandSpec& spec);

// Reads what a command printed: a JSON object with a non-empty string "key" (a valid key, see
// validate_key), and optionally "token" (a string) and "expires_at" (an RFC 3339 string); either
// may be null. Other members are ignored. Parsed in wiped memory.
FetchResult parse_command_output(std::string_view output);

}  // namespace llmrt::credentials

#endif  // LLMRT_CREDENTIALS_COMMAND_HPP
