/* conf_history_fails: model "history-fails" sets LLMRT_CAP_CONVERSATION (ABI 2.2) but fails without
 * a message whenever a prompt carries earlier turns; every other prompt it echoes.
 * Breaks: a model that reads conversations takes a system prompt and earlier turns. Must fail
 * exactly conversation.history_accepted. */
#include "conformance_test_plugin.h"

static llmrt_status history_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                    const llmrt_sink* out) {
  (void)model;
  if (LLMRT_PROMPT_HAS(prompt, history_count) && prompt->history_count > 0) return LLMRT_FAILED;
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "history-fails",
    .execute = history_execute,
    .capabilities = LLMRT_CAP_CONVERSATION | LLMRT_CAP_REENTRANT,
};

CONF_PLUGIN("conf-history-fails", model)
