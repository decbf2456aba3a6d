/* bad_requires_without_accepts: model "requires-without-accepts" sets LLMRT_CAP_REQUIRES_KEY
 * without LLMRT_CAP_ACCEPTS_KEY (and has no execute_with_key).
 *
 * Contract breach: a model that requires a key must be able to receive one; REQUIRES_KEY needs
 * ACCEPTS_KEY too. Such a model could never be called, so the host refuses the plugin at load time
 * (capability_mismatch). */
#include <llmrt/plugin.h>

#include <stddef.h>

static llmrt_status echo_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  if (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size)) {
    return LLMRT_CANCELLED;
  }
  return LLMRT_OK;
}

static const llmrt_model model_descriptor = {
    .struct_size = sizeof(llmrt_model),
    .id = "requires-without-accepts",
    .execute = echo_execute,
    .capabilities = LLMRT_CAP_REQUIRES_KEY,
    .execute_with_key = NULL,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "requires-without-accepts",
    .version = "1.0.0",
    .model_count = 1,
    .models = models,
    .get_extension = NULL,
};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  return &plugin;
}
