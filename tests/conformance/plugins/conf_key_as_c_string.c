/* conf_key_as_c_string: model "key-as-c-string" measures the key with strlen(key->key.data).
 * Breaks: llmrt_str is (data, size) and not NUL-terminated. The tool lends keys that end right
 * before an inaccessible page, so strlen faults. Must fail exactly keys.keyed_call_works and
 * keys.not_kept_after_call (the two checks that lend such keys). */
#include "conformance_test_plugin.h"

static llmrt_status c_string_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                     const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static llmrt_status c_string_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                              const llmrt_credential* key, const llmrt_sink* out) {
  if (strlen(key->key.data) != key->key.size) {
    return conf_fail(out, LLMRT_KEY_REJECTED, "the key has an unexpected length");
  }
  return c_string_execute(model, prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "key-as-c-string",
    .execute = c_string_execute,
    .key_name = "key-as-c-string",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = c_string_execute_with_key,
};

CONF_PLUGIN("conf-key-as-c-string", model)
