// What every `llmrt` command shares: the one-line error and warning format, exit codes, and JSON
// output. No command prints an error any other way.
#ifndef LLMRT_CLI_OUTPUT_HPP
#define LLMRT_CLI_OUTPUT_HPP

#include <llmrt/runtime.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::cli {

// Exit codes of the tool.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a runtime error: a model, key, plugin or file problem
inline constexpr int kExitUsage = 2;    // the command line (or the request it makes) is malformed
inline constexpr int kExitInterrupted = 130;  // SIGINT stopped a prompt

// `llmrt: error: <message>` on stderr, on one line (line breaks in `message` become spaces).
void print_error(std::string_view message);

// `llmrt: warning: <message>` on stderr, on one line.
void print_warning(std::string_view message);

// One `llmrt: warning: skipped plugin <path>: <message>` line per plugin the runtime refused.
void print_load_errors(const std::vector<LoadError>& errors);

// A load error's message without the "plugin '<path>': " the runtime may start it with (the
// path is always shown next to it).
std::string load_error_text(const LoadError& error);

// The exit code for a runtime error: 2 for ErrorCode::usage, else 1.
int exit_code_for(const Error& error);

// Writes `value` as JSON followed by a newline on stdout.
void print_json(const boost::json::value& value);

// Writes all of `text` to stdout. Throws Error(io) if stdout cannot be written.
void write_stdout(std::string_view text);

// Flushes stdout. Throws Error(io) if it cannot be written (eg: a full disk).
void flush_stdout();

// A model's description as JSON, the same in `models --json` and `plugins inspect --json`:
// {"id", "display_name", "plugin", "plugin_version", "plugin_path", "abi": "2.0", "accepts_key",
//  "requires_key", "key_name", "key_env_var", "streaming", "reentrant", "deterministic",
//  "conversation", "options_schema": {...}}
boost::json::object model_json(const ModelInfo& model);

// The capability flags a model has, eg: "accepts-key,streaming,reentrant"; "-" for none.
std::string capability_list(const ModelInfo& model);

// A table with a header row, columns padded to their widest cell, two spaces apart.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// "yes" / "no".
inline const char* yes_no(bool value) {
  return value ? "yes" : "no";
}

// `text`, or "-" when it is empty: for table cells.
inline std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_OUTPUT_HPP
