/* conf_bad_status: model "bad-status" fails an empty prompt with LLMRT_FAILED but no message, and
 * answers a prompt with bytes >= 0x80 with status 42.
 * Breaks: every status but OK and CANCELLED comes with a message, and only defined statuses are
 * returned. Must fail exactly prompt.empty and prompt.invalid_utf8. */
#include "conformance_test_plugin.h"

static llmrt_status status_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                   const llmrt_sink* out) {
  size_t i;
  (void)model;
  if (prompt->text.size == 0) return LLMRT_FAILED; /* no message */
  for (i = 0; i < prompt->text.size; ++i) {
    if ((unsigned char)prompt->text.data[i] >= 0x80) {
      return conf_fail(out, 42, "not ASCII");
    }
  }
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "bad-status",
    .execute = status_execute,
};

CONF_PLUGIN("conf-bad-status", model)
