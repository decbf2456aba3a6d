/* bad_keyed_without_flag: model "keyed-without-flag" has an execute_with_key function but does not
 * set LLMRT_CAP_ACCEPTS_KEY.
 *
 * Contract breach: flag and function must agree. The host must not guess which one is right; it
 * refuses the plugin at load time (capability_mismatch). */
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

static llmrt_status echo_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                          const llmrt_credential* key, const llmrt_sink* out) {
  (void)key;
  return echo_execute(model, prompt, out);
}

static const llmrt_model model_descriptor = {
    .struct_size = sizeof(llmrt_model),
    .id = "keyed-without-flag",
    .execute = echo_execute,
    .capabilities = 0,
    .execute_with_key = echo_execute_with_key,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "keyed-without-flag",
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
