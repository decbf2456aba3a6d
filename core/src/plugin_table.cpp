#include "plugin_table.hpp"

#include <map>
#include <mutex>

namespace llmrt {
namespace {

struct Table {
  std::mutex mutex;
  std::map<void*, std::weak_ptr<const PluginLibrary>> by_handle;
};

// Never destroyed: plugins may be released by static destructors of the host after main returns.
Table& table() {
  static Table* const instance = new Table;
  return *instance;
}

}  // namespace

std::shared_ptr<const PluginLibrary> bind_once(boost::dll::shared_library library,
                                               const std::filesystem::path& path,
                                               const HostIdentity& host) {
  void* const handle = library.native();
  Table& loaded = table();
  std::lock_guard lock(loaded.mutex);
  const auto found = loaded.by_handle.find(handle);
  if (found != loaded.by_handle.end()) {
    if (auto existing = found->second.lock()) return existing;  // `library` closes its reference
    loaded.by_handle.erase(found);
  }
  auto plugin = std::make_shared<PluginLibrary>(std::move(library));
  plugin->bind(path, host);
  // Forget plugins that were closed since, so the table stays as small as what is loaded.
  std::erase_if(loaded.by_handle, [](const auto& entry) { return entry.second.expired(); });
  loaded.by_handle.emplace(handle, plugin);
  return plugin;
}

}  // namespace llmrt
