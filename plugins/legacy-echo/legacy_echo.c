/* legacy-echo: a plugin written against the frozen v1 ABI, before keys existed.
 * It is kept unchanged to prove that v1 binaries keep working in every later host. */
#include <llmrt/abi/plugin_v1.h>

#include <string.h>

static llmrt_v1_status legacy_echo_execute(const llmrt_v1_model *model,
                                           const llmrt_v1_prompt *prompt,
                                           const llmrt_v1_sink *out) {
  (void)model;
  if (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size)) {
    return LLMRT_V1_CANCELLED;
  }
  return LLMRT_V1_OK;
}

static const llmrt_v1_model legacy_echo_model = {
    sizeof(llmrt_v1_model), "legacy-echo", "Legacy echo (ABI v1)", "{\"type\":\"object\"}",
    NULL, legacy_echo_execute};

static const llmrt_v1_model *const legacy_echo_models[] = {&legacy_echo_model};

static const void *legacy_echo_get_extension(const char *id) {
  (void)id;
  return NULL;
}

static const llmrt_v1_plugin legacy_echo_plugin = {
    sizeof(llmrt_v1_plugin), LLMRT_V1_ABI_VERSION, "legacy-echo", "1.0.0", 1, legacy_echo_models,
    legacy_echo_get_extension};

LLMRT_V1_EXPORT const void *llmrt_plugin_entry(const llmrt_v1_host_info *host,
                                               uint32_t *plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_V1_ABI_VERSION;
  if (host == NULL || (host->abi_version >> 16) < 1) return NULL;
  return &legacy_echo_plugin;
}
