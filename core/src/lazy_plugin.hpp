// A plugin file as one Runtime holds it: listed (by the plugin cache's index, or by loading it),
// described when first asked, and loaded at the latest when one of its models is first called. A
// Runtime in eager mode, and one that had to inspect a file the cache did not know, holds it loaded
// from the start.
//
// Ownership: a LazyPlugin is shared by its Runtime's registry and by every LazyModel of it (so by
// every Model handle): a Model keeps working, and can still load its plugin, after the Runtime is
// gone. What the plugin loaded keeps the library mapped (or the worker pool alive) while held.
//
// Threading: every member may be called from any thread. The first load runs once, under the
// plugin's mutex: two threads calling a cold model load it once, the second waits for the first.
#ifndef LLMRT_LAZY_PLUGIN_HPP
#define LLMRT_LAZY_PLUGIN_HPP

#include <llmrt/runtime.hpp>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "options_schema.hpp"
#include "plugin_cache/plugin_cache.hpp"
#include "plugin_library.hpp"

namespace llmrt {

class ModelBinding;

// What every plugin of one Runtime reports to: how many files it loaded, which were refused (also
// those refused on first use, after the Runtime was made), and the cache that remembers both.
class PluginLedger {
 public:
  explicit PluginLedger(std::shared_ptr<plugin_cache::PluginCache> cache,
                        std::function<void(std::string_view)> error_log)
      : cache_(std::move(cache)), error_log_(std::move(error_log)) {}

  void count_load() { loaded_.fetch_add(1, std::memory_order_relaxed); }
  std::size_t loaded() const { return loaded_.load(std::memory_order_relaxed); }

  void add_error(LoadError error);
  std::vector<LoadError> errors() const;
  std::size_t error_count() const;

  // The cache, or null when this Runtime keeps none (eager mode, or turned off).
  plugin_cache::PluginCache* cache() const { return cache_.get(); }
  // Saves the cache if it changed; a failure is reported through the error log, once.
  void save_cache();

 private:
  std::shared_ptr<plugin_cache::PluginCache> cache_;
  std::function<void(std::string_view)> error_log_;
  std::atomic<std::size_t> loaded_{0};
  mutable std::mutex mutex_;
  std::vector<LoadError> errors_;
  bool save_failure_reported_ = false;
};

// What every plugin of one Runtime is loaded with: one copy, shared.
struct LoadSettings {
  HostIdentity host;
  IsolationConfig isolation;
};

// How one plugin file is loaded, whenever that happens.
struct PluginSource {
  std::filesystem::path path;                          // as found, eg: "<dir>/echo.so"
  std::string canonical_path;                          // the cache's key
  std::optional<plugin_cache::FileIdentity> identity;  // when the cache described it
  std::shared_ptr<const LoadSettings> settings;
  IsolationMode mode = IsolationMode::in_process;
  std::shared_ptr<PluginLedger> ledger;
};

// Loads `source` by today's rules (symbol table, then dlopen; or a worker pool in process mode),
// counting the load. Throws PluginLoadError.
LoadedPlugin load_now(const PluginSource& source);

// What a loaded plugin describes, as the plugin cache records it.
isolation::PluginDescription describe(const LoadedPlugin& loaded);

// Records in the plugin cache what `source` turned out to be (a description, or why it was
// refused), if its Runtime keeps a cache and the file is still the one whose identity was taken
// when it was listed: an entry must describe the file its identity names. Returns whether it did.
bool record_in_cache(const PluginSource& source, std::optional<isolation::PluginDescription> found,
                     std::optional<LoadError> refused);

class LazyPlugin {
 public:
  // A plugin loaded already.
  LazyPlugin(PluginSource source, LoadedPlugin loaded);
  // A plugin inspected now and let go: described, loaded on first use.
  LazyPlugin(PluginSource source, isolation::PluginDescription described);
  // A plugin listed from the cache's index: its description is read from the cache when first
  // needed (or, if it cannot be read back, from the plugin itself, loading it), and its code is
  // loaded on first use.
  LazyPlugin(PluginSource source, std::vector<std::string> model_ids);
  LazyPlugin(const LazyPlugin&) = delete;
  LazyPlugin& operator=(const LazyPlugin&) = delete;

  // The file as found, eg: "<dir>/echo.so".
  const std::filesystem::path& path() const { return source_.path; }
  // Its models' ids, in the plugin's order; known without reading the description.
  const std::vector<std::string>& model_ids() const { return model_ids_; }
  // As listed, with `loaded` and, in process mode, the workers' health as of now.
  PluginInfo info() const;
  // The description of model `index` of model_ids(). The reference stays valid while the plugin
  // lives.
  const ModelInfo& model_info(std::size_t index) const { return described().models[index]; }

  // The binding of model `id`, loading the plugin first if it is not loaded yet. Throws
  // Error(plugin_load) with the loader's message when it cannot be loaded (the same message and,
  // in load_errors(), the same LoadErrorKind as at start in eager mode), now and on every later
  // call (the file is not tried again by this Runtime). Throws Error(model_not_found) when the
  // plugin loads but no longer offers `id` (a plugin whose models depend on more than its file).
  std::shared_ptr<const ModelBinding> model(const std::string& id);

 private:
  // The description, one ModelInfo per model id, in the same order. Read once; never called with
  // mutex_ held.
  const isolation::PluginDescription& described() const;
  // `found` with this file's path, and its models in model_ids_'s order (a model the description
  // lacks gets a description of its id alone).
  isolation::PluginDescription aligned(isolation::PluginDescription found) const;
  // Loads the plugin if it is not loaded yet, and records what it describes in the cache when
  // `record` or when its model ids differ from the listed ones. Under mutex_. Throws
  // Error(plugin_load).
  void load_locked(bool record) const;

  const PluginSource source_;
  const std::vector<std::string> model_ids_;
  mutable std::once_flag described_once_;
  mutable std::optional<isolation::PluginDescription> described_;
  mutable std::mutex mutex_;
  mutable std::optional<LoadedPlugin> loaded_;
  mutable std::optional<std::string> failure_;
};

// One model of a LazyPlugin: its id at once, its description when first asked for, its code on
// first call. What a ModelInstance holds; its address is the model's lane in the Runtime's async
// pool.
class LazyModel {
 public:
  // Model `index` of `plugin`'s model_ids(); `bound` when the plugin is loaded already.
  LazyModel(std::shared_ptr<LazyPlugin> plugin, std::size_t index,
            std::shared_ptr<const ModelBinding> bound);

  const std::string& id() const { return plugin_->model_ids()[index_]; }
  const std::filesystem::path& plugin_path() const { return plugin_->path(); }
  const ModelInfo& info() const { return plugin_->model_info(index_); }
  // The options schema, parsed from the description when first needed (no load needed).
  // Throws Error(plugin_load) if the description's schema does not parse.
  const OptionsSchema& schema() const;
  // The model's code: loads the plugin on first call. Throws Error(plugin_load).
  const ModelBinding& binding() const;

 private:
  const std::shared_ptr<LazyPlugin> plugin_;
  const std::size_t index_;
  mutable std::once_flag schema_once_;
  mutable std::optional<OptionsSchema> schema_;
  mutable std::mutex bind_mutex_;
  mutable std::shared_ptr<const ModelBinding> keep_;         // written once, under bind_mutex_
  mutable std::atomic<const ModelBinding*> bound_{nullptr};  // set after keep_
};

}  // namespace llmrt

#endif  // LLMRT_LAZY_PLUGIN_HPP
