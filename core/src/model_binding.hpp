// One model of a loaded plugin, whatever ABI version it was written against: its description, the
// schema of its options, and the one place where the host calls into its code.
#ifndef LLMRT_MODEL_BINDING_HPP
#define LLMRT_MODEL_BINDING_HPP

#include <llmrt/abi/plugin_v1.h>
#include <llmrt/plugin.h>
#include <llmrt/model.hpp>

#include <memory>
#include <mutex>

#include "options_schema.hpp"
#include "plugin_library.hpp"

namespace llmrt {

// Owned by its PluginLibrary, and shared (through aliasing shared_ptrs that keep the library
// mapped) by every Runtime, Model and inspection in the process: its serialization is process-wide.
//
// Threading: every member may be called from any thread.
class ModelBinding {
 public:
  // The model's functions, read once at load: calls go through these copies only.
  struct Functions {
    decltype(llmrt_model::execute) execute = nullptr;
    decltype(llmrt_model::execute_with_key) execute_with_key = nullptr;
  };

  ModelBinding(ModelInfo info, OptionsSchema schema, const llmrt_model* model, Functions functions);
  ModelBinding(ModelInfo info, OptionsSchema schema, const llmrt_v1_model* legacy_model,
               decltype(llmrt_v1_model::execute) legacy_execute);
  // A model of a plugin that runs in worker processes: calls go to `pool`, as model `index`. Such
  // a binding is not owned by a PluginLibrary (nothing is mapped in this process): it is held by
  // the Runtime that started the pool and by its Models, and the pool serializes per worker.
  ModelBinding(ModelInfo info, OptionsSchema schema, std::shared_ptr<isolation::WorkerPool> pool,
               std::uint32_t index);

  const ModelInfo& info() const { return info_; }
  const OptionsSchema& schema() const { return schema_; }

  // Calls the plugin: execute_with_key when `key` is given (only for models that accept keys),
  // execute otherwise. For a model that is not reentrant, calls are serialized here.
  // `prompt`, `key` and `sink` are borrowed by the plugin for this call only.
  // An exception the plugin lets escape (a contract breach) becomes LLMRT_FAILED with a message.
  // Through a worker pool, a fault of the worker throws llmrt::Error (plugin_crashed,
  // plugin_unavailable, timeout, output_too_large).
  llmrt_status call(const llmrt_prompt& prompt, const llmrt_credential* key,
                    const llmrt_sink& sink) const;

  // As call(), but such an exception propagates: for the conformance tool, which reports it.
  llmrt_status call_propagating(const llmrt_prompt& prompt, const llmrt_credential* key,
                                const llmrt_sink& sink) const;

 private:
  llmrt_status call_unlocked(const llmrt_prompt& prompt, const llmrt_credential* key,
                             const llmrt_sink& sink) const;

  ModelInfo info_;
  OptionsSchema schema_;
  const llmrt_model* model_ = nullptr;            // ABI v2; passed back to its functions
  Functions functions_;                           // ABI v2
  const llmrt_v1_model* legacy_model_ = nullptr;  // ABI v1
  decltype(llmrt_v1_model::execute) legacy_execute_ = nullptr;
  std::shared_ptr<isolation::WorkerPool> pool_;  // process isolation: the worker pool
  std::uint32_t index_ = 0;                      // ... and this model's index in its plugin
  mutable std::mutex serial_;  // held around calls unless reentrant; one per model per process
};

}  // namespace llmrt

#endif  // LLMRT_MODEL_BINDING_HPP
