/* bad_flag_without_keyed: model "flag-without-keyed" sets LLMRT_CAP_ACCEPTS_KEY (and a key_name)
 * but leaves execute_with_key NULL.
 *
 * Contract breach: execute_with_key must be present exactly when LLMRT_CAP_ACCEPTS_KEY is set. A
 * host that trusted the flag would call through a NULL pointer; it must refuse the plugin at load
 * time (capability_mismatch) instead. */
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
    .id = "flag-without-keyed",
    .execute = echo_execute,
    .key_name = "flag-without-keyed",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = NULL,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "flag-without-keyed",
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
