// Looking at one plugin file on its own, for `llmrt plugins inspect`; and the small naming
// functions of the public API.
#include <llmrt/plugin.h>
#include <llmrt/runtime.hpp>

#include "model_binding.hpp"
#include "plugin_library.hpp"

namespace llmrt {

std::uint32_t host_abi_version() noexcept {
  return LLMRT_ABI_VERSION;
}

std::string abi_version_string(std::uint32_t version) {
  return std::to_string(LLMRT_ABI_MAJOR(version)) + "." + std::to_string(LLMRT_ABI_MINOR(version));
}

std::string_view to_string(LoadErrorKind kind) noexcept {
  switch (kind) {
    case LoadErrorKind::not_found:
      return "not_found";
    case LoadErrorKind::not_a_shared_object:
      return "not_a_shared_object";
    case LoadErrorKind::no_entry_symbol:
      return "no_entry_symbol";
    case LoadErrorKind::load_failed:
      return "load_failed";
    case LoadErrorKind::abi_too_new:
      return "abi_too_new";
    case LoadErrorKind::invalid_descriptor:
      return "invalid_descriptor";
    case LoadErrorKind::capability_mismatch:
      return "capability_mismatch";
    case LoadErrorKind::duplicate_model:
      return "duplicate_model";
  }
  return "unknown";
}

PluginInspection Runtime::inspect(const std::filesystem::path& path) {
  PluginInspection inspection;
  inspection.path = path.string();
  try {
    inspection.exported_symbols = exported_symbols(path);
    HostIdentity host;
    try {
      host.user_dir = default_user_dir(nullptr).string();
    } catch (const Error&) {
      // No user directory: the plugin is told an empty one.
    }
    LoadedPlugin loaded = load_plugin(path, host);
    for (const auto& binding : loaded.models) inspection.models.push_back(binding->info());
    inspection.plugin = std::move(loaded.info);
  } catch (const PluginLoadError& error) {
    inspection.error = LoadError{path.string(), error.kind(), error.what()};
  } catch (const std::exception& error) {
    // Host-side failures only (eg: out of memory): plugin exceptions are PluginLoadErrors by now.
    inspection.error = LoadError{path.string(), LoadErrorKind::load_failed,
                                 "plugin '" + path.string() + "': " + error.what()};
  }
  return inspection;
}

}  // namespace llmrt
