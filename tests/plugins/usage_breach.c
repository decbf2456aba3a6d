/* usage_breach: a 2.2 plugin that breaks the usage rule of llmrt_sink ("at most once, after the
 * last write") in two ways, one per model, for the runtime's and the conformance tool's tests.
 *   "usage-twice"       reports its usage twice (3/1, then 300/100): the host keeps the first.
 *   "write-after-usage" reports its usage, then writes more output.
 * Both echo the prompt text. */
#include <llmrt/plugin.h>

#include <stddef.h>

static void report(const llmrt_sink* out, int64_t input, int64_t output) {
  llmrt_usage usage;
  usage.struct_size = sizeof usage;
  usage.input_tokens = input;
  usage.output_tokens = output;
  usage.details_json.data = NULL;
  usage.details_json.size = 0;
  if (LLMRT_SINK_HAS(out, usage) && out->usage != NULL) out->usage(out->host_data, &usage);
}

static llmrt_status twice_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  (void)model;
  if (prompt->text.size > 0) out->write(out->host_data, prompt->text.data, prompt->text.size);
  report(out, 3, 1);
  report(out, 300, 100);
  return LLMRT_OK;
}

static llmrt_status late_write_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                       const llmrt_sink* out) {
  (void)model;
  report(out, 3, 1);
  if (prompt->text.size > 0) out->write(out->host_data, prompt->text.data, prompt->text.size);
  return LLMRT_OK;
}

static const void* no_extension(const char* id) {
  (void)id;
  return NULL;
}

static const llmrt_model twice_model = {
    sizeof(llmrt_model), "usage-twice", NULL, NULL, NULL, twice_execute, NULL, NULL,
    LLMRT_CAP_REENTRANT, NULL};
static const llmrt_model late_model = {sizeof(llmrt_model),
                                       "write-after-usage",
                                       NULL,
                                       NULL,
                                       NULL,
                                       late_write_execute,
                                       NULL,
                                       NULL,
                                       LLMRT_CAP_REENTRANT,
                                       NULL};
static const llmrt_model* const models[] = {&twice_model, &late_model};
static const llmrt_plugin plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION, "usage_breach", "1.0.0", 2, models, no_extension};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) != LLMRT_ABI_VERSION_MAJOR) return NULL;
  return &plugin;
}
