/* bad_undefined_symbol: model "undefined-symbol" whose execute calls a function that no library
 * defines. It is linked without --no-undefined, so the file exists and looks like a plugin (its
 * entry symbol is there), but the dynamic loader refuses it with RTLD_NOW.
 *
 * Contract breach: a plugin must be self-contained. The host must load with RTLD_NOW so the failure
 * is a clear load error (load_failed, naming the symbol) and not a crash on the first call. */
#include <llmrt/plugin.h>

#include <stddef.h>

/* Defined nowhere, on purpose. */
extern size_t llmrt_test_symbol_defined_nowhere(const char* data, size_t size);

static llmrt_status undefined_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                      const llmrt_sink* out) {
  size_t size = llmrt_test_symbol_defined_nowhere(prompt->text.data, prompt->text.size);
  (void)model;
  if (size > 0 && out->write(out->host_data, prompt->text.data, size)) return LLMRT_CANCELLED;
  return LLMRT_OK;
}

static const llmrt_model model_descriptor = {
    .struct_size = sizeof(llmrt_model),
    .id = "undefined-symbol",
    .execute = undefined_execute,
};

static const llmrt_model* const models[] = {&model_descriptor};

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "undefined-symbol",
    .version = "1.0.0",
    .model_count = 1,
    .models = models,
};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  return &plugin;
}
