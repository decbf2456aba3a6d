/* bad_null_execute: model "null-execute" has execute == NULL.
 *
 * Contract breach: the one-argument execute is mandatory for every model, even one that requires a
 * key. The host must refuse the plugin at load time (invalid_descriptor) rather than crash on the
 * first call. */
#include <llmrt/plugin.h>

#include <stddef.h>

static const llmrt_model model_descriptor = {
    .struct_size = sizeof(llmrt_model),
    .id = "null-execute",
    .execute = NULL,
    .capabilities = 0,
    .execute_with_key = NULL,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "null-execute",
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
