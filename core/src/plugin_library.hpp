// Loading one plugin file: symbol check before any code runs, dlopen with RTLD_NOW, version
// negotiation, and validation of everything the plugin describes. Each refusal is a PluginLoadError
// with a distinct kind and a one-line message naming the file.
#ifndef LLMRT_PLUGIN_LIBRARY_HPP
#define LLMRT_PLUGIN_LIBRARY_HPP

#include <llmrt/runtime.hpp>

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace llmrt {

class ModelBinding;
namespace isolation {
class WorkerPool;
}

class PluginLoadError : public std::runtime_error {
 public:
  PluginLoadError(LoadErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  LoadErrorKind kind() const noexcept { return kind_; }

 private:
  LoadErrorKind kind_;
};

// What the host tells plugins about itself.
struct HostIdentity {
  std::string user_dir;
  std::uint32_t abi_version = host_abi_version();
};

// One loaded plugin file, bound once per load for the whole process (see plugin_table.hpp): the
// mapped library, what its entry point described, and one ModelBinding per model. The bindings
// handed out are aliasing shared_ptrs into this object, so the code stays mapped, and every
// Runtime, Model and `inspect` shares the same bindings (and so the same per-model serialization),
// for as long as any of them refers into the library.
//
// Threading: immutable once bound; every member may be called from any thread.
class PluginLibrary : public std::enable_shared_from_this<PluginLibrary> {
 public:
  explicit PluginLibrary(boost::dll::shared_library library);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  // Runs the entry point (once: only the plugin table calls this, before sharing the object) and
  // validates everything it describes. Throws PluginLoadError, also for an exception of any type
  // the entry point lets escape (its text is copied while the library is still mapped).
  void bind(const std::filesystem::path& path, const HostIdentity& host);

  const PluginInfo& info() const { return info_; }
  // The models, each keeping this library alive while it is held.
  std::vector<std::shared_ptr<const ModelBinding>> models() const;

 private:
  boost::dll::shared_library library_;  // destroyed last: nothing below may outlive the mapping
  PluginInfo info_;
  std::vector<std::unique_ptr<const ModelBinding>> bindings_;
};

// A plugin as one caller sees it: a copy of its description, and its models (each one keeping the
// library mapped).
struct LoadedPlugin {
  PluginInfo info;
  std::vector<std::shared_ptr<const ModelBinding>> models;
  std::shared_ptr<isolation::WorkerPool> pool;  // set when the plugin runs in worker processes
};

// Loads and validates `path`, or hands out the plugin already loaded from the same library (the
// same dlopen handle): the entry point runs once per load for the whole process. The library stays
// mapped while anything in the result (or a copy of a binding) is alive. Thread-safe.
// Throws PluginLoadError only.
LoadedPlugin load_plugin(const std::filesystem::path& path, const HostIdentity& host);

// The names the file exports, read from its symbol table without loading it.
// Throws PluginLoadError(not_found / not_a_shared_object).
std::vector<std::string> exported_symbols(const std::filesystem::path& path);

}  // namespace llmrt

#endif  // LLMRT_PLUGIN_LIBRARY_HPP
