#include "lazy_plugin.hpp"

#include <algorithm>

#include "isolation/worker_pool.hpp"
#include "model_binding.hpp"

namespace llmrt {

void PluginLedger::add_error(LoadError error) {
  std::lock_guard lock(mutex_);
  errors_.push_back(std::move(error));
}

std::vector<LoadError> PluginLedger::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

std::size_t PluginLedger::error_count() const {
  std::lock_guard lock(mutex_);
  return errors_.size();
}

void PluginLedger::save_cache() {
  if (!cache_) return;
  const std::string failure = cache_->save();
  if (failure.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (std::exchange(save_failure_reported_, true)) return;
  }
  error_log_(failure);
}

LoadedPlugin load_now(const PluginSource& source) {
  source.ledger->count_load();
  return source.mode == IsolationMode::process
             ? isolation::load_plugin_in_worker(source.path, source.settings->host,
                                                source.settings->isolation)
             : load_plugin(source.path, source.settings->host);
}

isolation::PluginDescription describe(const LoadedPlugin& loaded) {
  isolation::PluginDescription description{loaded.info, {}};
  for (const auto& binding : loaded.models) description.models.push_back(binding->info());
  return description;
}

bool record_in_cache(const PluginSource& source, std::optional<isolation::PluginDescription> found,
                     std::optional<LoadError> refused) {
  plugin_cache::PluginCache* cache = source.ledger->cache();
  if (cache == nullptr || !source.identity ||
      plugin_cache::identify(source.canonical_path) != source.identity) {
    return false;
  }
  cache->put(source.canonical_path, source.settings->host.user_dir,
             {*source.identity, std::move(found), std::move(refused)});
  return true;
}

LazyPlugin::LazyPlugin(PluginSource source, LoadedPlugin loaded)
    : source_(std::move(source)), described_(loaded.info), loaded_(std::move(loaded)) {}

LazyPlugin::LazyPlugin(PluginSource source, PluginInfo described)
    : source_(std::move(source)), described_(std::move(described)) {}

PluginInfo LazyPlugin::info() const {
  PluginInfo info = described_;
  info.isolation = source_.mode;
  std::lock_guard lock(mutex_);
  info.loaded = loaded_.has_value();
  if (loaded_ && loaded_->pool) info.health = loaded_->pool->health();
  return info;
}

std::shared_ptr<const ModelBinding> LazyPlugin::model(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (failure_) throw Error(ErrorCode::plugin_load, *failure_);
  if (!loaded_) {
    try {
      LoadedPlugin loaded = load_now(source_);
      // A plugin may describe itself by more than its file (eg: models from a configuration file
      // in the user directory): what it describes now is what the next runs list.
      if (loaded.info.model_ids != described_.model_ids &&
          record_in_cache(source_, describe(loaded), std::nullopt)) {
        source_.ledger->save_cache();
      }
      loaded_ = std::move(loaded);
    } catch (const PluginLoadError& error) {
      failure_ = error.what();
      LoadError refused{source_.path.string(), error.kind(), error.what()};
      source_.ledger->add_error(refused);
      // Remembered for the next runs too, while the file stays as it was when it was listed.
      if (record_in_cache(source_, std::nullopt, std::move(refused))) source_.ledger->save_cache();
      throw Error(ErrorCode::plugin_load, *failure_);
    }
  }
  for (const auto& binding : loaded_->models) {
    if (binding->info().id == id) return binding;
  }
  // Listed from the cache, but the plugin no longer offers it: the plugin itself is fine (its other
  // models answer), and the cache already says what it offers now.
  throw Error(ErrorCode::model_not_found,
              "model '" + id + "' was listed from the plugin cache, but plugin '" +
                  source_.path.string() +
                  "' no longer offers it; list models again with `llmrt models`");
}

LazyModel::LazyModel(ModelInfo info, std::shared_ptr<LazyPlugin> plugin,
                     std::shared_ptr<const ModelBinding> bound)
    : info_(std::move(info)), plugin_(std::move(plugin)), keep_(std::move(bound)) {
  bound_.store(keep_.get(), std::memory_order_release);
}

const OptionsSchema& LazyModel::schema() const {
  if (const ModelBinding* bound = bound_.load(std::memory_order_acquire)) return bound->schema();
  std::call_once(schema_once_, [this] {
    try {
      schema_ = OptionsSchema::parse(info_.options_schema_json);
    } catch (const std::invalid_argument& error) {
      throw Error(ErrorCode::plugin_load, "plugin '" + info_.plugin_path + "': model '" + info_.id +
                                              "' has an invalid options schema: " + error.what());
    }
  });
  return *schema_;
}

const ModelBinding& LazyModel::binding() const {
  if (const ModelBinding* bound = bound_.load(std::memory_order_acquire)) return *bound;
  std::lock_guard lock(bind_mutex_);
  if (!keep_) {
    keep_ = plugin_->model(info_.id);
    bound_.store(keep_.get(), std::memory_order_release);
  }
  return *keep_;
}

}  // namespace llmrt
