/* conf_bad_key_metadata: model "bad-key-metadata" accepts a key and names its environment variable
 * "bad_key_metadata_key": a valid variable name, so the host loads it (it refuses only names that
 * are not variable names), but not the upper-case form the conformance tool asks for.
 * Breaks: key_env_var is an upper-case name such as "OPENAI_API_KEY". Must fail exactly
 * descriptor.key_metadata. */
#include "conformance_test_plugin.h"

static llmrt_status metadata_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                     const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static llmrt_status metadata_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                              const llmrt_credential* key, const llmrt_sink* out) {
  (void)key;
  return metadata_execute(model, prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "bad-key-metadata",
    .execute = metadata_execute,
    .key_name = "bad-key-metadata",
    .key_env_var = "bad_key_metadata_key",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = metadata_execute_with_key,
};

CONF_PLUGIN("conf-bad-key-metadata", model)
