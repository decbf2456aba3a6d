/* bad_key_env_var: model "bad-env-var" names its key's environment variable "OPENAI KEY;rm -rf".
 *
 * Contract breach: key_env_var must be a variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128). It
 * is shown in messages and looked up in the environment, so the host refuses the plugin
 * (invalid_descriptor) instead of passing the text on. */
#include <llmrt/plugin.h>

#include <stddef.h>

static llmrt_status execute(const llmrt_model* model, const llmrt_prompt* prompt,
                            const llmrt_sink* out) {
  (void)model;
  (void)prompt;
  (void)out;
  return LLMRT_OK;
}

static llmrt_status execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                     const llmrt_credential* key, const llmrt_sink* out) {
  (void)key;
  return execute(model, prompt, out);
}

static const llmrt_model model_descriptor = {
    .struct_size = sizeof(llmrt_model),
    .id = "bad-env-var",
    .execute = execute,
    .key_name = "bad-env-var",
    .key_env_var = "OPENAI KEY;rm -rf",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = execute_with_key,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "bad-env-var",
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
