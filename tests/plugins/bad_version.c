/* bad_version: the plugin's version is "1.0\n\x1b[2J" (a newline and a terminal escape).
 *
 * Contract breach: a version is 1-64 printable ASCII characters without spaces. It is printed by
 * `llmrt plugins` and in logs, so the host refuses the plugin (invalid_descriptor). */
#include <llmrt/plugin.h>

#include <stddef.h>

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "bad-version",
    .version = "1.0\n\x1b[2J",
    .model_count = 0,
    .models = NULL,
    .get_extension = NULL,
};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  return &plugin;
}
