/* conf_usage_twice: model "usage-twice" echoes the prompt, then reports its usage twice when the
 * caller asked for streaming (once otherwise).
 * Breaks: usage is reported at most once per call. Must fail exactly
 * conversation.usage_once_after_output. */
#include "conformance_test_plugin.h"

static void report(const llmrt_sink* out) {
  llmrt_usage usage;
  memset(&usage, 0, sizeof usage);
  usage.struct_size = sizeof usage;
  usage.input_tokens = 1;
  usage.output_tokens = 1;
  out->usage(out->host_data, &usage);
}

static llmrt_status twice_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  const llmrt_status status = conf_echo(prompt, out);
  (void)model;
  if (status != LLMRT_OK || !LLMRT_SINK_HAS(out, usage) || out->usage == NULL) return status;
  report(out);
  if (prompt->flags & LLMRT_PROMPT_STREAM) report(out);
  return status;
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "usage-twice",
    .execute = twice_execute,
    .capabilities = LLMRT_CAP_REENTRANT,
};

CONF_PLUGIN("conf-usage-twice", model)
