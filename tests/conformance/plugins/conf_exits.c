/* conf_exits: model "exits" calls exit(3) when the prompt is not valid ASCII, as a library that
 * "handles" errors by ending the process would.
 * Breaks: a plugin never ends its host's process; it returns a status with a message. Must fail
 * exactly prompt.invalid_utf8. */
#include <stdlib.h>

#include "conformance_test_plugin.h"

static llmrt_status exits_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  size_t i;
  (void)model;
  for (i = 0; i < prompt->text.size; ++i) {
    if ((unsigned char)prompt->text.data[i] >= 0x80) exit(3);
  }
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "exits",
    .execute = exits_execute,
};

CONF_PLUGIN("conf-exits", model)
