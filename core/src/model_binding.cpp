#include "model_binding.hpp"

#include <string_view>

#include "isolation/worker_pool.hpp"

namespace llmrt {

ModelBinding::ModelBinding(ModelInfo info, OptionsSchema schema, const llmrt_model* model,
                           Functions functions)
    : info_(std::move(info)), schema_(std::move(schema)), model_(model), functions_(functions) {}

ModelBinding::ModelBinding(ModelInfo info, OptionsSchema schema, const llmrt_v1_model* legacy_model,
                           decltype(llmrt_v1_model::execute) legacy_execute)
    : info_(std::move(info)),
      schema_(std::move(schema)),
      legacy_model_(legacy_model),
      legacy_execute_(legacy_execute) {}

ModelBinding::ModelBinding(ModelInfo info, OptionsSchema schema,
                           std::shared_ptr<isolation::WorkerPool> pool, std::uint32_t index)
    : info_(std::move(info)), schema_(std::move(schema)), pool_(std::move(pool)), index_(index) {}

llmrt_status ModelBinding::call(const llmrt_prompt& prompt, const llmrt_credential* key,
                                const llmrt_sink& sink) const {
  // In a worker, the worker does all of the below; each worker runs one call at a time.
  if (pool_) return pool_->call(info_, index_, prompt, info_.accepts_key ? key : nullptr, sink);
  // The contract forbids exceptions across the boundary, but a C++ plugin written without the SDK
  // may still let one out: it must not reach the host application as something of the plugin's.
  try {
    return call_propagating(prompt, key, sink);
  } catch (...) {
    static constexpr std::string_view kMessage =
        "the plugin let an exception escape through the C ABI (a contract breach)";
    sink.error(sink.host_data, kMessage.data(), kMessage.size());
    return LLMRT_FAILED;
  }
}

llmrt_status ModelBinding::call_propagating(const llmrt_prompt& prompt, const llmrt_credential* key,
                                            const llmrt_sink& sink) const {
  if (pool_) return pool_->call(info_, index_, prompt, info_.accepts_key ? key : nullptr, sink);
  if (info_.reentrant) return call_unlocked(prompt, key, sink);
  std::lock_guard lock(serial_);
  return call_unlocked(prompt, key, sink);
}

llmrt_status ModelBinding::call_unlocked(const llmrt_prompt& prompt, const llmrt_credential* key,
                                         const llmrt_sink& sink) const {
  if (model_ != nullptr) {
    // The capability flag and the function were checked to agree at load time; a key is only
    // ever passed through the keyed entry point.
    if (key != nullptr && info_.accepts_key) {
      return functions_.execute_with_key(model_, &prompt, key, &sink);
    }
    return functions_.execute(model_, &prompt, &sink);
  }
  // ABI v1: same layouts, declared in the frozen header; a v1 model never sees a key.
  const llmrt_v1_prompt legacy_prompt = {sizeof(llmrt_v1_prompt),
                                         prompt.flags,
                                         {prompt.text.data, prompt.text.size},
                                         {prompt.options.data, prompt.options.size}};
  const llmrt_v1_sink legacy_sink = {sizeof(llmrt_v1_sink), sink.host_data, sink.write, sink.error,
                                     sink.should_stop};
  return legacy_execute_(legacy_model_, &legacy_prompt, &legacy_sink);
}

}  // namespace llmrt
