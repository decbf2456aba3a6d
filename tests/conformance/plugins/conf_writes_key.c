/* conf_writes_key: model "writes-key" "helpfully" wipes the key bytes it was lent before returning.
 * Breaks: the credential belongs to the host and is read-only to the plugin. Must fail exactly
 * keys.keyed_call_works (the only check that lends a read-only key; the write faults). */
#include "conformance_test_plugin.h"

static llmrt_status wipe_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static llmrt_status wipe_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                          const llmrt_credential* key, const llmrt_sink* out) {
  const llmrt_status status = wipe_execute(model, prompt, out);
  memset((char*)key->key.data, 0, key->key.size);
  return status;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "writes-key",
    .execute = wipe_execute,
    .key_name = "writes-key",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = wipe_execute_with_key,
};

CONF_PLUGIN("conf-writes-key", model)
