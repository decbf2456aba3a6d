/* conf_echoes_host_version: answers whatever version the host speaks, always with its v2 struct.
 * Breaks: a plugin answers its own version. To a 1.0 host it claims 1.0 but hands over a struct
 * saying 2.0; to a 3.0 host it claims 3.0. Must fail exactly negotiate.older_host and
 * negotiate.newer_host (to today's 2.0 host its answer happens to be right). */
#include "conformance_test_plugin.h"

static llmrt_status echo_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "echoes-host-version",
    .execute = echo_execute,
};

static const llmrt_model* const models[] = {&model};

static const llmrt_plugin plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION, "conf-echoes-host-version", "1.0.0", 1, models, NULL};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL || host == NULL) return NULL;
  *plugin_abi_version = host->abi_version;
  return &plugin;
}
