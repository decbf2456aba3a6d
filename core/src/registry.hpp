// The set of plugins and their models, built from directories and files. A plugin that fails is
// recorded as a LoadError and skipped; the rest load as usual. In lazy mode a file the plugin
// cache knows (same identity) is listed from the cache without loading it; any other file is
// loaded now by the usual rules, and recorded in the cache.
#ifndef LLMRT_REGISTRY_HPP
#define LLMRT_REGISTRY_HPP

#include <llmrt/runtime.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "lazy_plugin.hpp"
#include "plugin_library.hpp"

namespace llmrt {

// Threading: built on one thread (the Runtime's constructor); after that, every const member may
// be called from any thread.
class Registry {
 public:
  // `ledger` holds the cache (lazy mode) or none (eager mode: every file is loaded now).
  Registry(HostIdentity host, IsolationConfig isolation, std::shared_ptr<PluginLedger> ledger,
           bool lazy);

  // Adds every plugin file (by the platform's suffix, eg: ".so") in `dir`, in name order.
  // A missing directory is skipped unless `must_exist`, when it is a LoadError.
  void load_directory(const std::filesystem::path& dir, bool must_exist);
  // Adds one file, or every plugin in it if it is a directory.
  void load_path(const std::filesystem::path& path);
  // Saves what was learnt into the cache (once everything is added).
  void finish() { ledger_->save_cache(); }

  std::shared_ptr<LazyModel> find(std::string_view id) const;
  const std::vector<std::shared_ptr<LazyModel>>& models() const { return models_; }
  // The plugins, with `loaded` and the health of those in worker processes as of now.
  std::vector<PluginInfo> plugins() const;
  std::vector<LoadError> errors() const { return ledger_->errors(); }
  std::size_t error_count() const { return ledger_->error_count(); }
  std::size_t loaded_count() const { return ledger_->loaded(); }

 private:
  // `canonical`: the file's canonical path when the caller knows it (else it is resolved here);
  // `identity`: its identity when the caller took it already (else it is taken here if needed).
  void load_file(const std::filesystem::path& file, std::string canonical = {},
                 std::optional<plugin_cache::FileIdentity> identity = std::nullopt);
  // Adds a listed plugin's models (`bound`: their bindings, when it is loaded already); false (and
  // a duplicate_model LoadError) when one of its model ids is offered already.
  bool add(const std::filesystem::path& file, const std::shared_ptr<LazyPlugin>& plugin,
           const std::vector<std::shared_ptr<const ModelBinding>>& bound);

  std::shared_ptr<const LoadSettings> settings_;
  std::shared_ptr<PluginLedger> ledger_;
  bool lazy_;
  std::unordered_set<std::string> seen_;  // canonical paths: a file is added once
  std::vector<std::shared_ptr<LazyPlugin>> plugins_;
  std::vector<std::shared_ptr<LazyModel>> models_;
  std::map<std::string, std::shared_ptr<LazyModel>, std::less<>> by_id_;
};

}  // namespace llmrt

#endif  // LLMRT_REGISTRY_HPP
