/* Shared boilerplate of the conformance test plugins: small sink helpers, and CONF_PLUGIN, which
 * defines the plugin struct and a well-behaved entry point for one model. Each plugin source breaks
 * one rule on purpose and says which conformance checks must fail because of it. */
#ifndef CONFORMANCE_TEST_PLUGIN_H
#define CONFORMANCE_TEST_PLUGIN_H

#include <llmrt/plugin.h>

#include <stddef.h>
#include <string.h>

/* Writes `size` bytes; returns non-zero when the host asked to stop. */
static inline int conf_write(const llmrt_sink* out, const char* data, size_t size) {
  return size > 0 ? out->write(out->host_data, data, size) : 0;
}

static inline int conf_write_text(const llmrt_sink* out, const char* text) {
  return conf_write(out, text, strlen(text));
}

/* Reports `message` and returns `status`. */
static inline llmrt_status conf_fail(const llmrt_sink* out, llmrt_status status,
                                     const char* message) {
  out->error(out->host_data, message, strlen(message));
  return status;
}

/* Echoes the prompt in one chunk, as a well-behaved model would. */
static inline llmrt_status conf_echo(const llmrt_prompt* prompt, const llmrt_sink* out) {
  return conf_write(out, prompt->text.data, prompt->text.size) ? LLMRT_CANCELLED : LLMRT_OK;
}

#define CONF_PLUGIN(NAME, MODEL)                                                        \
  static const llmrt_model* const conf_models[] = {&(MODEL)};                           \
  static const llmrt_plugin conf_plugin = {                                             \
      sizeof(llmrt_plugin), LLMRT_ABI_VERSION, NAME, "1.0.0", 1, conf_models, NULL};    \
  LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,      \
                                                      uint32_t* plugin_abi_version) {   \
    if (plugin_abi_version == NULL) return NULL;                                        \
    *plugin_abi_version = LLMRT_ABI_VERSION;                                            \
    if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) { \
      return NULL;                                                                      \
    }                                                                                   \
    return &conf_plugin;                                                                \
  }

#endif /* CONFORMANCE_TEST_PLUGIN_H */
