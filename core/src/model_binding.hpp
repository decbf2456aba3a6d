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

class ModelBinding {
 public:
  ModelBinding(ModelInfo info, OptionsSchema schema, std::shared_ptr<const PluginLibrary> library,
               const llmrt_model* model);
  ModelBinding(ModelInfo info, OptionsSchema schema, std::shared_ptr<const PluginLibrary> library,
               const llmrt_v1_model* legacy_model);
  // A model of a plugin that runs in worker processes: calls go to `pool`, as model `index`.
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
  std::shared_ptr<const PluginLibrary> library_;  // keeps the code below mapped
  const llmrt_model* model_ = nullptr;            // ABI v2
  const llmrt_v1_model* legacy_model_ = nullptr;  // ABI v1
  std::shared_ptr<isolation::WorkerPool> pool_;   // process isolation: the worker pool
  std::uint32_t index_ = 0;                       // ... and this model's index in its plugin
  mutable std::mutex serial_;                     // held around calls unless reentrant
};

}  // namespace llmrt

#endif  // LLMRT_MODEL_BINDING_HPP
