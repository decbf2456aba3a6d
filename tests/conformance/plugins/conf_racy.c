/* conf_racy: model "racy" declares LLMRT_CAP_REENTRANT and LLMRT_CAP_DETERMINISTIC but formats
 * every answer in one static buffer, without a lock, pausing between filling and writing it.
 * Breaks: a reentrant model may run on several threads at once. Concurrent calls overwrite each
 * other's answers (and ThreadSanitizer sees the race). Must fail exactly concurrency.reentrant. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "conformance_test_plugin.h"

static char shared_buffer[512];
static size_t shared_size;

static llmrt_status racy_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  const struct timespec pause = {0, 200000};
  (void)model;
  shared_size = prompt->text.size < sizeof shared_buffer ? prompt->text.size : sizeof shared_buffer;
  if (shared_size > 0) memcpy(shared_buffer, prompt->text.data, shared_size);
  nanosleep(&pause, NULL);
  return conf_write(out, shared_buffer, shared_size) ? LLMRT_CANCELLED : LLMRT_OK;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "racy",
    .execute = racy_execute,
    .capabilities = LLMRT_CAP_REENTRANT | LLMRT_CAP_DETERMINISTIC,
};

CONF_PLUGIN("conf-racy", model)
