// The plugin isolation options every command shares (--isolation, --workers-per-plugin, ...):
// main.cpp fills them once; each command builds its Runtime's config from them.
#ifndef LLMRT_CLI_ISOLATION_OPTIONS_HPP
#define LLMRT_CLI_ISOLATION_OPTIONS_HPP

#include <llmrt/runtime.hpp>

#include <optional>
#include <string>
#include <vector>

namespace llmrt::cli {

struct IsolationArgs {
  std::optional<std::string> mode;      // --isolation in_process|process
  std::vector<std::string> per_plugin;  // --plugin-isolation NAME=MODE, repeatable
  std::size_t workers_per_plugin = 0;   // --workers-per-plugin N (0: cores)
  std::optional<double>
      call_timeout_seconds;             // --call-timeout S (0: none; serve: --request-timeout)
  std::size_t max_output_bytes = 0;     // --max-output-bytes N (0: none)
  std::size_t plugin_memory_limit = 0;  // --plugin-memory-limit BYTES (0: none)
};

// Remembers the parsed options (main.cpp calls it once, before any command runs).
void set_isolation_args(IsolationArgs args);

// A RuntimeConfig with lazy plugin loading (the plugin cache) and the isolation options applied;
// `default_mode` when --isolation is absent. In `process` by default (serve), a call without
// --call-timeout is limited to `default_call_timeout_seconds` (serve passes its --request-timeout,
// 300 s by default), so that a hung plugin cannot hold a gateway slot forever and the two deadlines
// never disagree unless the user sets both. Throws Error(usage) for an unknown mode or a malformed
// NAME=MODE.
RuntimeConfig cli_runtime_config(IsolationMode default_mode = IsolationMode::in_process,
                                 double default_call_timeout_seconds = 300);

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_ISOLATION_OPTIONS_HPP
