/* conf_stream_differs: model "stream-differs" declares LLMRT_CAP_DETERMINISTIC but prefixes its
 * output with "[streamed] " when the caller asks for streaming.
 * Breaks: streaming may change how output is cut into chunks, never what it is. Must fail exactly
 * stream.equals_buffered. */
#include "conformance_test_plugin.h"

static llmrt_status differs_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                    const llmrt_sink* out) {
  (void)model;
  if ((prompt->flags & LLMRT_PROMPT_STREAM) != 0 && conf_write_text(out, "[streamed] ")) {
    return LLMRT_CANCELLED;
  }
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "stream-differs",
    .execute = differs_execute,
    .capabilities = LLMRT_CAP_STREAMING | LLMRT_CAP_DETERMINISTIC,
};

CONF_PLUGIN("conf-stream-differs", model)
