/* conf_hangs_on_empty: model "hangs-on-empty" waits forever for an empty prompt, without polling
 * should_stop.
 * Breaks: a call ends, and polls should_stop while it waits. Must fail exactly prompt.empty, as a
 * timeout (run it with a short --timeout-ms). */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "conformance_test_plugin.h"

static llmrt_status hang_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  if (prompt->text.size == 0) {
    const struct timespec pause = {1, 0};
    for (;;) nanosleep(&pause, NULL);
  }
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "hangs-on-empty",
    .execute = hang_execute,
};

CONF_PLUGIN("conf-hangs-on-empty", model)
