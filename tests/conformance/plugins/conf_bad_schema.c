/* conf_bad_schema: model "bad-schema" has an options schema that is not JSON (cut short).
 * Breaks: options_schema_json is NULL or a JSON schema object. The host refuses the plugin. Must
 * fail exactly descriptor.options_schema and load.host_accepts (the model checks are then skipped).
 */
#include "conformance_test_plugin.h"

static llmrt_status schema_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                   const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "bad-schema",
    .options_schema_json = "{\"type\": \"object\", \"properties\": {",
    .execute = schema_execute,
};

CONF_PLUGIN("conf-bad-schema", model)
