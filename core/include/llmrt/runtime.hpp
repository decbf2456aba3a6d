// The llmrt runtime: loads plugins, and hands out models to prompt through.
//
//   llmrt::Runtime runtime;                       // bundled plugins + $LLMRT_PLUGIN_PATH
//   llmrt::Model model = runtime.get_model("echo");
//   llmrt::Response r = model.prompt("Hello", {.key = user_key});
//
// See docs/embedding.md.
#ifndef LLMRT_RUNTIME_HPP
#define LLMRT_RUNTIME_HPP

#include <llmrt/error.hpp>
#include <llmrt/isolation.hpp>
#include <llmrt/keys_file.hpp>
#include <llmrt/model.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

// Looks up an environment variable; returns nullptr when it is unset. The default is ::getenv.
// Tests inject their own so that resolution can be checked without touching the process
// environment.
using EnvironmentLookup = std::function<const char*(const char* name)>;

// When plugin files are loaded (docs/embedding.md#eager-and-lazy-loading).
enum class PluginLoading {
  // Every plugin file is loaded when the Runtime is made: a broken plugin shows in load_errors()
  // at once, and nothing is loaded later. The plugin cache is not used.
  eager,
  // Models are listed from the plugin cache (a file it does not know, or that changed, is loaded
  // at start by the usual rules and recorded), and a plugin is loaded when one of its models is
  // first called. A plugin that then fails to load fails that call with Error(plugin_load) and is
  // added to load_errors().
  lazy,
};

struct RuntimeConfig {
  // Load the plugins installed next to the runtime library (<libdir>/llmrt/plugins).
  bool load_bundled_plugins = true;
  // Load every plugin file in each directory of $LLMRT_PLUGIN_PATH (colon-separated).
  bool use_plugin_path_env = true;
  // Load the plugins in <user_dir>/plugins.
  bool load_user_plugins = true;
  // More plugin directories, or plugin files, loaded after the above.
  std::vector<std::filesystem::path> plugin_paths;
  // Eager (the default for embedding: fail fast at start) or lazy (what the llmrt CLI and
  // `llmrt serve` use).
  PluginLoading plugin_loading = PluginLoading::eager;
  // The plugin metadata cache of lazy loading. Unset: $XDG_CACHE_HOME/llmrt/plugins-v2.json, else
  // ~/.cache/llmrt/plugins-v2.json (from `environment`). An empty path: no cache (every plugin file
  // is then loaded at start, as in eager mode). Ignored in eager mode.
  std::optional<std::filesystem::path> plugin_cache_file;
  // Lazy mode: inspect every plugin file again, as if the cache were empty, and rewrite the cache
  // (`llmrt plugins --refresh`).
  bool refresh_plugin_cache = false;
  // The user directory (keys.json, default_model.txt). Default: $LLMRT_USER_PATH, else
  // $XDG_CONFIG_HOME/llmrt, else ~/.config/llmrt.
  std::optional<std::filesystem::path> user_dir;
  // How environment variables are read, for the user directory and for model keys.
  EnvironmentLookup environment;
  // Worker threads for prompt_async (0: the number of cores, at least 2).
  std::size_t async_threads = 0;
  // Most prompt_async calls waiting for a worker; more are refused with Error(busy).
  std::size_t async_queue_limit = 1024;
  // How an idle worker waits for its next call before it sleeps, and how get()/wait() wait for a
  // result: busy for up to `limit` (0: sleep at once). A call or a result that arrives meanwhile
  // costs neither thread a system call: on otherwise idle cores prompt_async().get() on a fast
  // model took ~4.5 µs against ~30 µs without. At most one worker waits this way at a time. On
  // cores kept busy by other processes the spin costs more than it saves (25-69 µs against 7-11
  // µs measured): set `limit` to 0 there. `yield`: sched_yield between checks, for hosts whose own
  // threads need the cores (llmrt serve's I/O threads). docs/performance.md has the figures.
  struct IdleSpin {
    std::chrono::microseconds limit{20};
    bool yield = false;
  };
  IdleSpin async_idle_spin;
  // How many workers run calls at once before a queued call waits for one of them rather than
  // waking another (0: one per core). Threads beyond the cores only take turns on them, each turn a
  // context switch: with 64 workers on 2 cores the echo gateway served ~20% more requests/s this
  // way (docs/performance.md). Running calls may be blocked rather than busy (eg: on the network),
  // so a call that has waited `async_starvation_delay` wakes workers for every call waiting as
  // long: up to async_threads calls still run at once, each started at most that much later.
  std::size_t async_active_workers = 0;
  std::chrono::microseconds async_starvation_delay{1000};
  // Seeds the weighted choice among versions of a stored key (docs/keys.md#key-versions), for
  // reproducible tests. Default: a random seed.
  std::optional<std::uint64_t> key_version_seed;
  // Where the runtime reports errors no caller sees, as one line without a newline, eg: a key
  // version taken out of rotation. Called from any thread. Default: "llmrt: error: ..." on stderr.
  std::function<void(std::string_view line)> error_log;
  // Where plugin code runs (in this process, or in worker processes) and the limits of workers.
  // See <llmrt/isolation.hpp> and docs/isolation.md.
  IsolationConfig isolation;
  // keys.json is parsed once and kept (in locked, wiped memory) until it changes; how a change is
  // noticed (inotify, else a stat() at most every check_interval). See docs/keys.md.
  KeysFileCaching keys_file_caching;
};

enum class LoadErrorKind {
  not_found,            // the path does not exist
  not_a_shared_object,  // not a shared library this platform can load
  no_entry_symbol,      // a shared library, but not an llmrt plugin (its code was never run)
  load_failed,          // the dynamic loader refused it (eg: an undefined symbol)
  abi_too_new,          // the plugin needs a newer llmrt
  invalid_descriptor,   // its plugin or model description breaks the contract
  capability_mismatch,  // a capability flag disagrees with the functions present
  duplicate_model,      // a model id already offered by another plugin
};

std::string_view to_string(LoadErrorKind kind) noexcept;

// A plugin that was refused. The runtime keeps going with the others.
struct LoadError {
  std::string path;  // the plugin file
  LoadErrorKind kind;
  std::string
      message;  // one line, eg: "this plugin needs a newer llmrt (plugin ABI 3.0, host ABI 2.0)"
};

// How a plugin in worker processes is doing, when Runtime::plugins() was called.
struct PluginHealth {
  std::string state = "ok";  // "ok"; "degraded": a worker crashed within the crash window;
                             // "quarantined": too many crashes, calls are refused for a while
  std::size_t crashes = 0;   // worker crashes since it was loaded
  std::size_t workers = 0;   // worker processes running now
  std::chrono::seconds retry_after{0};  // when quarantined: how long until it is tried again
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string path;
  std::uint32_t abi_version = 0;
  std::vector<std::string> model_ids;
  IsolationMode isolation = IsolationMode::in_process;
  PluginHealth health;  // always "ok" in process for in_process plugins
  // Loaded by this Runtime (its code mapped, or its workers started); false for a plugin listed
  // from the plugin cache whose models were not called yet (lazy loading).
  bool loaded = false;
};

// What a Runtime did so far, for tests and diagnostics.
struct RuntimeStats {
  // Plugin files this Runtime loaded (dlopen in process, or a worker pool started), at start or on
  // a model's first call. A plugin already loaded by another Runtime of the process counts too.
  std::size_t plugins_loaded = 0;
};

// What `llmrt plugins inspect FILE` shows: the file as the loader sees it.
struct PluginInspection {
  std::string path;
  std::vector<std::string> exported_symbols;  // from the file's symbol table; nothing is run for it
  std::optional<PluginInfo> plugin;           // set when it loaded
  std::vector<ModelInfo> models;
  std::optional<LoadError> error;  // set when it did not
};

// "2.0" for a (major << 16) | minor version.
std::string abi_version_string(std::uint32_t version);

// The host's ABI version, (major << 16) | minor.
std::uint32_t host_abi_version() noexcept;

class RuntimeState;  // internal

// Threading: every const member may be called from any thread. The Runtime owns the async thread
// pool; destroying it waits for every queued and running prompt_async call to finish (none is
// cancelled: cancel them first with AsyncResponse::cancel() if they should not run), and from the
// moment it begins, prompt_async on its models throws Error(usage). It may be destroyed on any
// thread, including one of its own workers (eg: from an on_chunk callback, or when such a callback
// held its last owner): it then waits for every other call, never joins the calling worker, and the
// calls queued behind the calling one on that model's queue (with async_threads == 1: every queued
// call) run on that worker after it returns.
// Models it handed out stay usable for synchronous prompts after it is gone.
//
// Plugins are loaded once per process: every Runtime (and inspect) shares a plugin already loaded
// from the same file, whose entry point ran once, with the user directory of the Runtime that
// loaded it first; a model that is not reentrant is serialized across all Runtimes.
class Runtime {
 public:
  explicit Runtime(RuntimeConfig config = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The shared instance of model `id` (like llm.get_model). Throws Error(model_not_found).
  Model get_model(std::string_view id) const;

  // A new, independent instance of model `id` with its own key and default options: one per tenant.
  Model create_model(std::string_view id, ModelSettings settings = {}) const;

  std::vector<ModelInfo> models() const;
  std::vector<PluginInfo> plugins() const;
  // The plugins that were refused: at start, and (lazy loading) on a model's first call since.
  std::vector<LoadError> load_errors() const;
  RuntimeStats stats() const;

  const std::filesystem::path& user_dir() const;
  std::filesystem::path keys_file_path() const;
  // The runtime's keys file, with its cache (RuntimeConfig::keys_file_caching): what calls read.
  // Writing through it (or any KeysFile of this process) is seen by the next call.
  const KeysFile& keys_file() const;
  // credentials.json in the user directory: the order of the key sources per key name (read when
  // the Runtime was made; see docs/keys.md#credentialsjson).
  std::filesystem::path credentials_file_path() const;

  // The model `llmrt prompt` uses without -m: default_model.txt in the user directory, else "echo".
  std::string default_model_id() const;
  // Stores the default model; throws Error(model_not_found) for an unknown id.
  void set_default_model_id(std::string_view id) const;

  // Loads `path` on its own, for inspection only. Never throws for a bad plugin: see .error.
  static PluginInspection inspect(const std::filesystem::path& path);

 private:
  std::shared_ptr<RuntimeState> state_;
};

// The user directory as RuntimeConfig documents it. Throws Error(io) if no HOME can be found.
std::filesystem::path default_user_dir(const EnvironmentLookup& environment);

}  // namespace llmrt

#endif  // LLMRT_RUNTIME_HPP
