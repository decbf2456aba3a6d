/* c_hello: a plain-C plugin that replies "hello, " followed by the prompt. */
#include <llmrt/plugin.h>

static llmrt_status hello_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  (void)model;
  if (out->write(out->host_data, "hello, ", 7) != 0) return LLMRT_CANCELLED;
  if (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size)) {
    return LLMRT_CANCELLED;
  }
  return LLMRT_OK;
}

static const llmrt_model hello_model = {
    sizeof(llmrt_model),
    "c-hello",
    "Hello from C",
    NULL,
    NULL,
    hello_execute,
    NULL, /* key_name: this model takes no key */
    NULL, /* key_env_var */
    LLMRT_CAP_REENTRANT | LLMRT_CAP_DETERMINISTIC,
    NULL /* execute_with_key: absent, so LLMRT_CAP_ACCEPTS_KEY is not set */
};

static const llmrt_model* const hello_models[] = {&hello_model};

static const void* hello_get_extension(const char* id) {
  (void)id;
  return NULL;
}

static const llmrt_plugin hello_plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION,  "c-hello", "1.0.0", 1,
    hello_models,         hello_get_extension};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  return &hello_plugin;
}
