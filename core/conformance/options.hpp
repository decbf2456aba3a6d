// The command line of llmrt-conformance, parsed (by main.cpp, the only file that includes CLI11).
#ifndef LLMRT_CONFORMANCE_OPTIONS_HPP
#define LLMRT_CONFORMANCE_OPTIONS_HPP

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace llmrt::conformance {

struct Options {
  std::filesystem::path plugin;      // the plugin file under test
  std::optional<std::string> model;  // --model: limit the model checks to this model
  std::uint64_t seed = 0;            // --seed (or a random one): seeds the generated prompts
  unsigned repeat = 1;               // --repeat: run every check this many times
  std::optional<std::filesystem::path> junit;  // --junit: also write JUnit XML here
  bool in_process = false;                     // --in-process: no fork, no timeout (for gdb)
  unsigned timeout_ms = 10000;                 // --timeout-ms: per check, when isolated
  std::filesystem::path user_dir;  // what the plugin is told as host_info.user_dir (a temp dir)
};

// Exit codes.
inline constexpr int kExitAllPassed = 0;
inline constexpr int kExitSomeFailed = 1;
inline constexpr int kExitUsage = 2;

// Runs every check on options.plugin and prints the report. Returns the exit code.
int run_conformance(const Options& options);

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_OPTIONS_HPP
