#include "registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <memory>
#include <system_error>

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
  std::string canonical_dir = std::filesystem::weakly_canonical(dir, ec).native();
  if (ec) canonical_dir.clear();
  if (!canonical_dir.empty() && canonical_dir.back() != '/') canonical_dir += '/';
  // Listed with readdir and examined relative to the directory (fstatat): with 1000 plugins,
  // building a std::filesystem::path per entry and resolving each full path again took a fifth
  // of a prompt's start-up.
  // A directory that cannot be listed (eg: no read permission) is reported like a missing one,
  // never skipped in silence: the user meant its plugins to load.
  const auto report_unreadable = [&](int error) {
    ledger_->add_error({dir.string(), LoadErrorKind::not_found,
                        "plugin directory '" + dir.string() +
                            "' cannot be read: " + std::generic_category().message(error)});
  };
  const std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), &::closedir);
  if (!listing) {
    report_unreadable(errno);
    return;
  }
  const int dir_fd = ::dirfd(listing.get());
  struct Found {
    std::string name;
    bool plain;  // a file, not a symbolic link: its canonical path is <canonical dir>/<name>
  };
  std::vector<Found> found;
  for (errno = 0; const dirent* entry = ::readdir(listing.get()); errno = 0) {
    const std::string_view name = entry->d_name;
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    unsigned char type = entry->d_type;
    struct stat status {};
    if (type == DT_UNKNOWN && ::fstatat(dir_fd, entry->d_name, &status, AT_SYMLINK_NOFOLLOW) == 0) {
      type = IFTODT(status.st_mode);
    }
    if (type == DT_DIR) continue;
    // A link to a directory is skipped too, as before.
    if (type == DT_LNK && ::fstatat(dir_fd, entry->d_name, &status, 0) == 0 &&
        S_ISDIR(status.st_mode)) {
      continue;
    }
    found.push_back({std::string(name), type != DT_LNK && !canonical_dir.empty()});
  }
  if (errno != 0) {
    report_unreadable(errno);
    if (found.empty()) return;
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.name < b.name; });
  const bool identify_here = lazy_ && ledger_->cache() != nullptr;
  for (const Found& file : found) {
    std::optional<plugin_cache::FileIdentity> identity;
    if (identify_here && file.plain) identity = plugin_cache::identify_at(dir_fd, file.name);
    load_file(dir / file.name, file.plain ? canonical_dir + file.name : std::string(),
              std::move(identity));
  }
}

void Registry::load_path(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    load_directory(path, true);
  } else {
    load_file(path);
  }
}

void Registry::load_file(const std::filesystem::path& file, std::string canonical,
                         std::optional<plugin_cache::FileIdentity> identity) {
  if (canonical.empty()) {
    std::error_code ec;
    canonical = std::filesystem::weakly_canonical(file, ec).native();
    if (ec) canonical = file.native();
  }
  if (!seen_.insert(canonical).second) return;
  const IsolationConfig& isolation = settings_->isolation;
  const auto chosen = isolation.per_plugin.empty()
                          ? isolation.per_plugin.end()
                          : isolation.per_plugin.find(file.stem().string());
  PluginSource source{file,
                      std::move(canonical),
                      std::nullopt,
                      settings_,
                      chosen == isolation.per_plugin.end() ? isolation.mode : chosen->second,
                      ledger_};
  plugin_cache::PluginCache* const cache = lazy_ ? ledger_->cache() : nullptr;
  if (cache != nullptr) {
    source.identity = identity ? identity : plugin_cache::identify(source.canonical_path);
  }

  // Known to the cache, as the file is now: listed without loading it.
  if (cache != nullptr && source.identity) {
    if (auto listed =
            cache->find(source.canonical_path, *source.identity, settings_->host.user_dir)) {
      if (listed->error) {
        ledger_->add_error({file.string(), listed->error->kind, listed->error->message});
        return;
      }
      add(file, std::make_shared<LazyPlugin>(std::move(source), std::move(listed->model_ids)), {});
      return;
    }
  }

  // Unknown or changed: loaded now, by the usual rules, and recorded.
  try {
    LoadedPlugin loaded = load_now(source);
    if (cache != nullptr) {
      // Lazy: what it offers is known now, and its code is let go at once (the library closed,
      // or the worker stopped) until one of its models is called. Keeping 1000 libraries open
      // makes every further dlopen and dlclose slower; loading one again costs ~0.1 ms.
      isolation::PluginDescription description = describe(loaded);
      record_in_cache(source, description, std::nullopt);
      loaded = LoadedPlugin{};
      add(file, std::make_shared<LazyPlugin>(std::move(source), std::move(description)), {});
      return;
    }
    std::vector<std::shared_ptr<const ModelBinding>> bound = loaded.models;
    add(file, std::make_shared<LazyPlugin>(std::move(source), std::move(loaded)), bound);
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
                   const std::vector<std::shared_ptr<const ModelBinding>>& bound) {
  const std::vector<std::string>& ids = plugin->model_ids();
  for (const std::string& id : ids) {
    if (auto existing = find(id)) {
      ledger_->add_error({file.string(), LoadErrorKind::duplicate_model,
                          "plugin '" + file.string() + "': model id '" + id +
                              "' is already provided by '" + existing->plugin_path().string() +
                              "'"});
      return false;
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto model = std::make_shared<LazyModel>(plugin, i, i < bound.size() ? bound[i] : nullptr);
    by_id_.emplace(ids[i], model);
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
