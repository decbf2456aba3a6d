// Where plugin code runs: inside the host (in_process, the default for the CLI and embedding) or in
// llmrt-plugin-host worker processes (process, the default of `llmrt serve`), so that a plugin
// that crashes, hangs or floods costs one call, never the host. See docs/isolation.md.
#ifndef LLMRT_ISOLATION_HPP
#define LLMRT_ISOLATION_HPP

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

enum class IsolationMode {
  in_process,  // plugin code runs in the host's own threads (fastest; a crash takes the host down)
  process,     // plugin code runs in worker processes, one pool per plugin file
};

std::string_view to_string(IsolationMode mode) noexcept;
// "in_process" or "process"; nullopt for anything else.
std::optional<IsolationMode> isolation_mode_from_string(std::string_view text) noexcept;

struct IsolationConfig {
  IsolationMode mode = IsolationMode::in_process;
  // Per plugin file, by its name without directory and suffix (eg: "openai" for openai.so): a
  // mode that overrides `mode`.
  std::map<std::string, IsolationMode, std::less<>> per_plugin;
  // Workers per plugin file (0: the number of cores). Each worker runs one call at a time.
  std::size_t workers_per_plugin = 0;
  // A call that has not finished after this long ends with Error(timeout) (0: no limit). The
  // worker is asked to stop, and killed and replaced if it has not within `stop_grace`.
  std::chrono::milliseconds call_timeout{0};
  std::chrono::milliseconds stop_grace{2000};
  // How long the host waits busy for a worker's answer, and a worker for the host's next call,
  // before sleeping (0: sleep at once). Each side backs off while its spins keep running out, so
  // saturated cores are not spun on. On idle cores a call's round trip through a worker took 7 µs
  // with it and 74 µs without (waking a sleeping core, twice; docs/performance.md).
  std::chrono::microseconds call_spin{20};
  // A call whose output passes this many bytes ends with Error(output_too_large) (0: no limit).
  std::size_t max_output_bytes = 0;
  // RLIMIT_AS of each worker in bytes (0: none).
  std::size_t memory_limit = 0;
  // After `crash_limit` crashes of one plugin's workers within `crash_window`, the plugin is
  // quarantined: its calls get Error(plugin_unavailable) until the window has passed.
  std::size_t crash_limit = 5;
  std::chrono::milliseconds crash_window{60000};
  // A crashed worker is replaced after a delay that doubles with each crash in a row.
  std::chrono::milliseconds respawn_delay{50};
  std::chrono::milliseconds max_respawn_delay{5000};
  // How long a worker may take to start and load its plugin.
  std::chrono::milliseconds load_timeout{10000};
  // The worker executable; default: llmrt-plugin-host in the bin directory beside the runtime
  // library (<libdir>/../bin), in the build tree and after installation alike.
  std::optional<std::filesystem::path> worker_path;
  // Environment variables passed to workers besides LLMRT_* and a small fixed list (HOME, PATH,
  // LANG, TZ, TMPDIR, proxies, SSL_CERT_*; see docs/isolation.md). Keys are never passed.
  std::vector<std::string> pass_environment = {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"};
  // Where the plugins' own stdout/stderr lines go, each prefixed "[plugin NAME] " (rate-limited to
  // `log_lines_per_second` per worker). Default: the host's stderr. Called from a log thread.
  std::function<void(std::string_view line)> plugin_log;
  std::size_t log_lines_per_second = 50;
};

}  // namespace llmrt

#endif  // LLMRT_ISOLATION_HPP
