#include "registry.hpp"

#include <algorithm>
#include <boost/dll/shared_library.hpp>

#include "isolation/worker_pool.hpp"

namespace llmrt {

void Registry::load_directory(const std::filesystem::path& dir, bool must_exist) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (must_exist) {
      errors_.push_back({dir.string(), LoadErrorKind::not_found,
                         "plugin directory '" + dir.string() + "' does not exist"});
    }
    return;
  }
  const std::string suffix = boost::dll::shared_library::suffix().string();
  std::vector<std::filesystem::path> files;
  // A directory that cannot be listed (eg: no read permission) is reported like a missing one,
  // never skipped in silence: the user meant its plugins to load.
  std::filesystem::directory_iterator entries(dir, ec);
  for (; !ec && entries != std::filesystem::directory_iterator(); entries.increment(ec)) {
    std::error_code ignored;
    if (entries->path().extension() == suffix && !entries->is_directory(ignored))
      files.push_back(entries->path());
  }
  if (ec) {
    errors_.push_back({dir.string(), LoadErrorKind::not_found,
                       "plugin directory '" + dir.string() + "' cannot be read: " + ec.message()});
    if (files.empty()) return;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) load_file(file);
}

void Registry::load_path(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    load_directory(path, true);
  } else {
    load_file(path);
  }
}

void Registry::load_file(const std::filesystem::path& file) {
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(file, ec);
  if (!seen_.insert(ec ? file : canonical).second) return;
  try {
    const auto chosen = isolation_.per_plugin.find(file.stem().string());
    const IsolationMode mode =
        chosen == isolation_.per_plugin.end() ? isolation_.mode : chosen->second;
    LoadedPlugin loaded = mode == IsolationMode::process
                              ? isolation::load_plugin_in_worker(file, host_, isolation_)
                              : load_plugin(file, host_);
    for (const auto& binding : loaded.models) {
      if (auto existing = find(binding->info().id)) {
        throw PluginLoadError(LoadErrorKind::duplicate_model,
                              "plugin '" + file.string() + "': model id '" + binding->info().id +
                                  "' is already provided by '" + existing->info().plugin_path +
                                  "'");
      }
    }
    for (auto& binding : loaded.models) {
      by_id_.emplace(binding->info().id, binding);
      models_.push_back(std::move(binding));
    }
    if (loaded.pool) pools_.emplace(loaded.info.path, std::move(loaded.pool));
    plugins_.push_back(std::move(loaded.info));
  } catch (const PluginLoadError& error) {
    errors_.push_back({file.string(), error.kind(), error.what()});
  } catch (const std::exception& error) {
    errors_.push_back({file.string(), LoadErrorKind::load_failed,
                       "plugin '" + file.string() + "': " + error.what()});
  }
}

std::vector<PluginInfo> Registry::plugins_with_health() const {
  std::vector<PluginInfo> plugins = plugins_;
  for (PluginInfo& plugin : plugins) {
    const auto pool = pools_.find(plugin.path);
    if (pool != pools_.end()) plugin.health = pool->second->health();
  }
  return plugins;
}

std::shared_ptr<const ModelBinding> Registry::find(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace llmrt
