/* conf_extra_exports: a working plugin built with default visibility and without the version
 * script, so that its helper function and its counter are exported too.
 * Breaks: a plugin exports only the entry symbol (other names clash with the host's and other
 * plugins'). Must fail exactly load.exports_only_entry. */
#include "conformance_test_plugin.h"

LLMRT_EXPORT int conf_extra_call_count = 0;

LLMRT_EXPORT llmrt_status conf_extra_helper(const llmrt_prompt* prompt, const llmrt_sink* out) {
  ++conf_extra_call_count;
  return conf_echo(prompt, out);
}

static llmrt_status extra_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  (void)model;
  return conf_extra_helper(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "extra-exports",
    .execute = extra_execute,
};

CONF_PLUGIN("conf-extra-exports", model)
