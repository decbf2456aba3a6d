// The set of loaded plugins and their models, built from directories and files. A plugin that
// fails is recorded as a LoadError and skipped; the rest load as usual.
#ifndef LLMRT_REGISTRY_HPP
#define LLMRT_REGISTRY_HPP

#include <llmrt/runtime.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model_binding.hpp"
#include "plugin_library.hpp"

namespace llmrt {

class Registry {
 public:
  explicit Registry(HostIdentity host, IsolationConfig isolation = {})
      : host_(std::move(host)), isolation_(std::move(isolation)) {}

  // Loads every plugin file (by the platform's suffix, eg: ".so") in `dir`, in name order.
  // A missing directory is skipped unless `must_exist`, when it is a LoadError.
  void load_directory(const std::filesystem::path& dir, bool must_exist);
  // Loads one file, or every plugin in it if it is a directory.
  void load_path(const std::filesystem::path& path);

  std::shared_ptr<const ModelBinding> find(std::string_view id) const;
  const std::vector<std::shared_ptr<const ModelBinding>>& models() const { return models_; }
  const std::vector<PluginInfo>& plugins() const { return plugins_; }
  // plugins() with the health of those in worker processes as of now.
  std::vector<PluginInfo> plugins_with_health() const;
  const std::vector<LoadError>& errors() const { return errors_; }

 private:
  void load_file(const std::filesystem::path& file);

  HostIdentity host_;
  IsolationConfig isolation_;
  std::map<std::string, std::shared_ptr<isolation::WorkerPool>> pools_;  // by plugin path
  std::set<std::filesystem::path> seen_;  // canonical paths: a file is loaded once
  std::vector<std::shared_ptr<const ModelBinding>> models_;
  std::map<std::string, std::shared_ptr<const ModelBinding>, std::less<>> by_id_;
  std::vector<PluginInfo> plugins_;
  std::vector<LoadError> errors_;
};

}  // namespace llmrt

#endif  // LLMRT_REGISTRY_HPP
