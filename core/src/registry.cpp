#include "registry.hpp"

#include <algorithm>
#include <boost/dll/shared_library.hpp>

#include "model_binding.hpp"

namespace llmrt {

Registry::Registry(HostIdentity host, IsolationConfig isolation,
                   std::shared_ptr<PluginLedger> ledger, bool lazy)
    : settings_(std::make_shared<const LoadSettings>(
          LoadSettings{std::move(host), std::move(isolation)})),
      ledger_(std::move(ledger)),
      lazy_(lazy) {}

void Registry::load_directory(const std::filesystem::path& dir, bool must_exist) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (must_exist) {
      ledger_->add_error({dir.string(), LoadErrorKind::not_found,
                          "plugin directory '" + dir.string() + "' does not exist"});
    }
    return;
  }
  const std::string suffix = boost::dll::shared_library::suffix().string();
  // The directory is resolved once: a plain file in it is then <canonical dir>/<name>, without
  // resolving every path again (1000 plugins: 4000 readlink calls fewer per start).
  const std::filesystem::path canonical_dir = std::filesystem::weakly_canonical(dir, ec);
  if (ec) ec.clear();
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> files;  // found, canonical
  // A directory that cannot be listed (eg: no read permission) is reported like a missing one,
  // never skipped in silence: the user meant its plugins to load.
  std::filesystem::directory_iterator entries(dir, ec);
  for (; !ec && entries != std::filesystem::directory_iterator(); entries.increment(ec)) {
    std::error_code ignored;
    if (entries->path().extension() != suffix || entries->is_directory(ignored)) continue;
    const bool plain = !canonical_dir.empty() && !entries->is_symlink(ignored);
    files.emplace_back(entries->path(), plain ? canonical_dir / entries->path().filename()
                                              : std::filesystem::path());
  }
  if (ec) {
    ledger_->add_error({dir.string(), LoadErrorKind::not_found,
                        "plugin directory '" + dir.string() + "' cannot be read: " + ec.message()});
    if (files.empty()) return;
  }
  // By name, as strings (path comparison splits both paths into components on every compare).
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.first.native() < b.first.native(); });
  for (const auto& [file, canonical] : files) load_file(file, canonical);
}

void Registry::load_path(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    load_directory(path, true);
  } else {
    load_file(path);
  }
}

void Registry::load_file(const std::filesystem::path& file, std::filesystem::path canonical) {
  std::error_code ec;
  if (canonical.empty()) canonical = std::filesystem::weakly_canonical(file, ec);
  if (!seen_.insert((ec ? file : canonical).native()).second) return;
  const IsolationConfig& isolation = settings_->isolation;
  const auto chosen = isolation.per_plugin.find(file.stem().string());
  PluginSource source{file,
                      (ec ? file : canonical).string(),
                      std::nullopt,
                      settings_,
                      chosen == isolation.per_plugin.end() ? isolation.mode : chosen->second,
                      ledger_};
  plugin_cache::PluginCache* const cache = lazy_ ? ledger_->cache() : nullptr;
  if (cache != nullptr) source.identity = plugin_cache::identify(source.canonical_path);

  // Known to the cache, as the file is now: listed without loading it.
  if (cache != nullptr && source.identity) {
    if (auto entry =
            cache->find(source.canonical_path, *source.identity, settings_->host.user_dir)) {
      if (entry->error) {
        ledger_->add_error({file.string(), entry->error->kind, entry->error->message});
        return;
      }
      isolation::PluginDescription& described = *entry->description;
      described.plugin.path = file.string();
      for (ModelInfo& model : described.models) model.plugin_path = file.string();
      auto plugin = std::make_shared<LazyPlugin>(std::move(source), std::move(described.plugin));
      add(file, plugin, std::move(described.models), {});
      return;
    }
  }

  // Unknown or changed: loaded now, by the usual rules, and recorded.
  try {
    LoadedPlugin loaded = load_now(source);
    isolation::PluginDescription description = describe(loaded);
    std::vector<ModelInfo> models = description.models;
    record_in_cache(source, std::move(description), std::nullopt);
    if (cache != nullptr) {
      // Lazy: what it offers is known now, and its code is let go at once (the library closed,
      // or the worker stopped) until one of its models is called. Keeping 1000 libraries open
      // makes every further dlopen and dlclose slower; loading one again costs ~0.1 ms.
      PluginInfo described = loaded.info;
      loaded = LoadedPlugin{};
      add(file, std::make_shared<LazyPlugin>(std::move(source), std::move(described)),
          std::move(models), {});
      return;
    }
    std::vector<std::shared_ptr<const ModelBinding>> bound = loaded.models;
    auto plugin = std::make_shared<LazyPlugin>(std::move(source), std::move(loaded));
    add(file, plugin, std::move(models), bound);
  } catch (const PluginLoadError& error) {
    record_in_cache(source, std::nullopt, LoadError{file.string(), error.kind(), error.what()});
    ledger_->add_error({file.string(), error.kind(), error.what()});
  } catch (const std::exception& error) {
    // Host-side failures (eg: out of memory) are not the file's fault: never cached.
    ledger_->add_error({file.string(), LoadErrorKind::load_failed,
                        "plugin '" + file.string() + "': " + error.what()});
  }
}

bool Registry::add(const std::filesystem::path& file, const std::shared_ptr<LazyPlugin>& plugin,
                   std::vector<ModelInfo> models,
                   const std::vector<std::shared_ptr<const ModelBinding>>& bound) {
  for (const ModelInfo& model : models) {
    if (auto existing = find(model.id)) {
      ledger_->add_error({file.string(), LoadErrorKind::duplicate_model,
                          "plugin '" + file.string() + "': model id '" + model.id +
                              "' is already provided by '" + existing->info().plugin_path + "'"});
      return false;
    }
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    std::string id = models[i].id;
    auto model = std::make_shared<LazyModel>(std::move(models[i]), plugin,
                                             i < bound.size() ? bound[i] : nullptr);
    by_id_.emplace(std::move(id), model);
    models_.push_back(std::move(model));
  }
  plugins_.push_back(plugin);
  return true;
}

std::vector<PluginInfo> Registry::plugins() const {
  std::vector<PluginInfo> plugins;
  plugins.reserve(plugins_.size());
  for (const auto& plugin : plugins_) plugins.push_back(plugin->info());
  return plugins;
}

std::shared_ptr<LazyModel> Registry::find(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace llmrt
