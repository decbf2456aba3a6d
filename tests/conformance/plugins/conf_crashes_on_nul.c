/* conf_crashes_on_nul: model "crashes-on-nul" dereferences NULL when the prompt contains a NUL byte
 * (as code that mixes C strings and (data, size) strings ends up doing).
 * Breaks: a prompt may contain any bytes. Must fail exactly prompt.with_nul, with the signal named
 * (the crash ends that check's process only). */
#include "conformance_test_plugin.h"

static llmrt_status crash_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  (void)model;
  if (prompt->text.size > 0 && memchr(prompt->text.data, '\0', prompt->text.size) != NULL) {
    volatile int* nowhere = NULL;
    *nowhere = 1;
  }
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "crashes-on-nul",
    .execute = crash_execute,
};

CONF_PLUGIN("conf-crashes-on-nul", model)
