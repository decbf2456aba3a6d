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
    : source_(std::move(source)), model_ids_(loaded.info.model_ids) {
  described_ = aligned(describe(loaded));
  loaded_ = std::move(loaded);
}

LazyPlugin::LazyPlugin(PluginSource source, isolation::PluginDescription described)
    : source_(std::move(source)), model_ids_(described.plugin.model_ids) {
  described_ = aligned(std::move(described));
}

LazyPlugin::LazyPlugin(PluginSource source, std::vector<std::string> model_ids)
    : source_(std::move(source)), model_ids_(std::move(model_ids)) {}

isolation::PluginDescription LazyPlugin::aligned(isolation::PluginDescription found) const {
  isolation::PluginDescription result{std::move(found.plugin), {}};
  result.plugin.path = source_.path.string();
  result.plugin.model_ids = model_ids_;
  result.models.reserve(model_ids_.size());
  for (const std::string& id : model_ids_) {
    const auto match = std::find_if(found.models.begin(), found.models.end(),
                                    [&](const ModelInfo& model) { return model.id == id; });
    ModelInfo model;
    if (match != found.models.end()) {
      model = std::move(*match);
    } else {
      model.id = id;
      model.display_name = id;
      model.plugin_name = result.plugin.name;
      model.plugin_version = result.plugin.version;
      model.abi_version = result.plugin.abi_version;
      model.options_schema_json = "{}";
    }
    model.plugin_path = result.plugin.path;
    result.models.push_back(std::move(model));
  }
  return result;
}

const isolation::PluginDescription& LazyPlugin::described() const {
  std::call_once(described_once_, [this] {
    if (described_) return;  // known from the start
    std::optional<isolation::PluginDescription> found;
    if (const plugin_cache::PluginCache* cache = source_.ledger->cache()) {
      found = cache->description(source_.canonical_path);
    }
    if (!found) {
      // Not readable from the cache: from the plugin itself. One that no longer loads is
      // described by its file name and model ids; calling a model says why it does not load.
      std::lock_guard lock(mutex_);
      try {
        load_locked(true);  // recorded again, so that the next runs read it from the cache
        found = describe(*loaded_);
      } catch (const Error&) {
        found = isolation::PluginDescription{};
        found->plugin.name = source_.path.stem().string();
      }
    }
    described_ = aligned(std::move(*found));
  });
  return *described_;
}

PluginInfo LazyPlugin::info() const {
  PluginInfo info = described().plugin;
  info.isolation = source_.mode;
  std::lock_guard lock(mutex_);
  info.loaded = loaded_.has_value();
  if (loaded_ && loaded_->pool) info.health = loaded_->pool->health();
  return info;
}

void LazyPlugin::load_locked(bool record) const {
  if (failure_) throw Error(ErrorCode::plugin_load, *failure_);
  if (loaded_) return;
  try {
    LoadedPlugin loaded = load_now(source_);
    // A plugin may describe itself by more than its file (eg: models from a configuration file in
    // the user directory): what it describes now is what the next runs list.
    if ((record || loaded.info.model_ids != model_ids_) &&
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

std::shared_ptr<const ModelBinding> LazyPlugin::model(const std::string& id) {
  std::lock_guard lock(mutex_);
  load_locked(false);
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

LazyModel::LazyModel(std::shared_ptr<LazyPlugin> plugin, std::size_t index,
                     std::shared_ptr<const ModelBinding> bound)
    : plugin_(std::move(plugin)), index_(index), keep_(std::move(bound)) {
  bound_.store(keep_.get(), std::memory_order_release);
}

const OptionsSchema& LazyModel::schema() const {
  if (const ModelBinding* bound = bound_.load(std::memory_order_acquire)) return bound->schema();
  std::call_once(schema_once_, [this] {
    const ModelInfo& model = info();
    try {
      schema_ = OptionsSchema::parse(model.options_schema_json);
    } catch (const std::invalid_argument& error) {
      throw Error(ErrorCode::plugin_load, "plugin '" + model.plugin_path + "': model '" + model.id +
                                              "' has an invalid options schema: " + error.what());
    }
  });
  return *schema_;
}

const ModelBinding& LazyModel::binding() const {
  if (const ModelBinding* bound = bound_.load(std::memory_order_acquire)) return *bound;
  std::lock_guard lock(bind_mutex_);
  if (!keep_) {
    keep_ = plugin_->model(id());
    bound_.store(keep_.get(), std::memory_order_release);
  }
  return *keep_;
}

}  // namespace llmrt
