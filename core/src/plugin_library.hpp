// Loading one plugin file: symbol check before any code runs, dlopen with RTLD_NOW, version
// negotiation, and validation of everything the plugin describes. Each refusal is a PluginLoadError
// with a distinct kind and a one-line message naming the file.
#ifndef LLMRT_PLUGIN_LIBRARY_HPP
#define LLMRT_PLUGIN_LIBRARY_HPP

#include <llmrt/runtime.hpp>

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>
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

// A loaded plugin file. Every ModelBinding from it holds a shared_ptr to it, so the code stays
// mapped while any model, response or async call may still reach it.
class PluginLibrary {
 public:
  explicit PluginLibrary(boost::dll::shared_library library) : library_(std::move(library)) {}
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

 private:
  boost::dll::shared_library library_;
};

struct LoadedPlugin {
  PluginInfo info;
  std::vector<std::shared_ptr<const ModelBinding>> models;
  std::shared_ptr<isolation::WorkerPool> pool;  // set when the plugin runs in worker processes
};

// What the host tells plugins about itself.
struct HostIdentity {
  std::string user_dir;
  std::uint32_t abi_version = host_abi_version();
};

// Loads and validates `path`. Throws PluginLoadError.
LoadedPlugin load_plugin(const std::filesystem::path& path, const HostIdentity& host);

// The names the file exports, read from its symbol table without loading it.
// Throws PluginLoadError(not_found / not_a_shared_object).
std::vector<std::string> exported_symbols(const std::filesystem::path& path);

}  // namespace llmrt

#endif  // LLMRT_PLUGIN_LIBRARY_HPP
