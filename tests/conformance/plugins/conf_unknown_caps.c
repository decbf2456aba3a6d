/* conf_unknown_caps: model "unknown-caps" answers ABI 2.0 but sets capability bit 20, which 2.0
 * does not define.
 * Breaks: a plugin sets only the bits of the version it answers (the host ignores unknown bits, so
 * it loads). Must fail exactly capabilities.no_unknown_bits. */
#include "conformance_test_plugin.h"

static llmrt_status caps_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "unknown-caps",
    .execute = caps_execute,
    .capabilities = LLMRT_CAP_DETERMINISTIC | (1ull << 20),
};

CONF_PLUGIN("conf-unknown-caps", model)
