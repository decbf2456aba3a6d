/* conf_keeps_key_pointer: model "keeps-key-pointer" keeps key->key.data after the keyed call and
 * reads the old key at the start of every later call (to "compare" keys).
 * Breaks: the key is borrowed for one call. Must fail exactly keys.not_kept_after_call (the old key
 * page is poisoned and inaccessible after the call, so the read faults). */
#include "conformance_test_plugin.h"

static const char* kept_key;
static size_t kept_size;

static llmrt_status keeps_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  unsigned sum = 0;
  size_t i;
  (void)model;
  for (i = 0; i < kept_size; ++i) sum += (unsigned char)kept_key[i];
  if (sum == 1u) conf_write_text(out, "!"); /* keeps the read from being optimized away */
  return conf_echo(prompt, out);
}

static llmrt_status keeps_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                           const llmrt_credential* key, const llmrt_sink* out) {
  const llmrt_status status = keeps_execute(model, prompt, out);
  kept_key = key->key.data;
  kept_size = key->key.size;
  return status;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "keeps-key-pointer",
    .execute = keeps_execute,
    .key_name = "keeps-key-pointer",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = keeps_execute_with_key,
};

CONF_PLUGIN("conf-keeps-key-pointer", model)
