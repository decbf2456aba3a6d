/* conf_ignores_stop: model "ignores-stop" writes the prompt in small chunks and ignores the sink's
 * answer; once the host has asked it to stop, it keeps writing for 5 more seconds.
 * Breaks: when write returns non-zero the plugin stops and returns LLMRT_CANCELLED as soon as it
 * can. Must fail exactly cancel.stop_via_write (within its 2 s bound, not after 5 s). */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "conformance_test_plugin.h"

static double now_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static llmrt_status ignores_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                    const llmrt_sink* out) {
  int asked_to_stop = 0;
  size_t done = 0;
  (void)model;
  while (done < prompt->text.size) {
    const size_t chunk = prompt->text.size - done < 64 ? prompt->text.size - done : 64;
    if (conf_write(out, prompt->text.data + done, chunk)) asked_to_stop = 1;
    done += chunk;
  }
  if (asked_to_stop) {
    const double until = now_seconds() + 5.0;
    const struct timespec pause = {0, 1000000};
    while (now_seconds() < until) {
      conf_write_text(out, "...");
      nanosleep(&pause, NULL);
    }
  }
  return LLMRT_OK;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "ignores-stop",
    .execute = ignores_execute,
    .capabilities = LLMRT_CAP_STREAMING,
};

CONF_PLUGIN("conf-ignores-stop", model)
