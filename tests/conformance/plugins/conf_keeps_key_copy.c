/* conf_keeps_key_copy: model "keeps-key-copy" copies the key into a static buffer and repeats the
 * previous call's key in the output of the next call.
 * Breaks: no copy of the key may outlive its call. Must fail exactly keys.not_kept_after_call. */
#include "conformance_test_plugin.h"

static char previous_key[4096];
static size_t previous_size;

static llmrt_status copy_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  if (previous_size > 0) {
    if (conf_write_text(out, "previous key: ")) return LLMRT_CANCELLED;
    if (conf_write(out, previous_key, previous_size)) return LLMRT_CANCELLED;
    if (conf_write_text(out, "\n")) return LLMRT_CANCELLED;
  }
  return conf_echo(prompt, out);
}

static llmrt_status copy_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                          const llmrt_credential* key, const llmrt_sink* out) {
  const llmrt_status status = copy_execute(model, prompt, out);
  previous_size = key->key.size < sizeof previous_key ? key->key.size : sizeof previous_key;
  memcpy(previous_key, key->key.data, previous_size);
  return status;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "keeps-key-copy",
    .execute = copy_execute,
    .key_name = "keeps-key-copy",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = copy_execute_with_key,
};

CONF_PLUGIN("conf-keeps-key-copy", model)
