/* lazy_template: the plugin the lazy-loading tests copy by the hundred. Its one model's id is the
 * placeholder "lazy-model-00000", written once in the file, so that a test can patch the copies to
 * "lazy-model-00001", "lazy-model-00002", ... (same length, so every copy has the same size: a copy
 * patched to another id stands in for a new version of a file whose size did not change).
 *
 * The model answers "<its id>: <prompt text>", so a test sees which copy ran. */
#include <llmrt/plugin.h>

#include <stddef.h>
#include <string.h>

static llmrt_status lazy_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                 const llmrt_sink* out) {
  static const char kSeparator[] = ": ";
  if (out->write(out->host_data, model->id, strlen(model->id)) ||
      out->write(out->host_data, kSeparator, sizeof kSeparator - 1) ||
      (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size))) {
    return LLMRT_CANCELLED;
  }
  return LLMRT_OK;
}

static const void* lazy_get_extension(const char* id) {
  (void)id;
  return NULL;
}

static const llmrt_model lazy_model = {
    sizeof(llmrt_model),
    "lazy-model-00000",
    NULL,
    "{\"type\":\"object\",\"properties\":{\"level\":{\"type\":\"integer\"}}}",
    NULL,
    lazy_execute,
    NULL,
    NULL,
    LLMRT_CAP_REENTRANT | LLMRT_CAP_DETERMINISTIC,
    NULL,
};

static const llmrt_model* const models[] = {&lazy_model};

static const llmrt_plugin plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION, "lazy-template", "1.0.0", 1, models,
    lazy_get_extension,
};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < 2) return NULL;
  return &plugin;
}
