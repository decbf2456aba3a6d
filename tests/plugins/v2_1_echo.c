/* v2_1_echo: a plugin built against the frozen 2.1 contract (<llmrt/abi/plugin_v2_1.h>), before
 * conversations existed. It stands for every 2.1 binary in the field: a 2.2 host must keep loading
 * it and must never show it the 2.2 fields of llmrt_prompt.
 *
 * Model "v21-echo" echoes the prompt text; with a key it adds " (keyed)". If the host ever passes a
 * prompt larger than a 2.1 prompt it adds " [prompt larger than 2.1]", which tests look for. It
 * also sets capability bit 5, which 2.1 does not define (2.2 gives it a meaning): a host must
 * ignore a bit the plugin's own ABI did not define. */
#include <llmrt/abi/plugin_v2_1.h>

#include <stddef.h>

#define V21_UNDEFINED_BIT_5 (1ull << 5)

static int write_text(const llmrt_v2_1_sink* out, const char* data, size_t size) {
  return size == 0 ? 0 : out->write(out->host_data, data, size);
}

static llmrt_v2_1_status reply(const llmrt_v2_1_prompt* prompt, const llmrt_v2_1_sink* out,
                               int keyed) {
  static const char kLarger[] = " [prompt larger than 2.1]";
  static const char kKeyed[] = " (keyed)";
  if (write_text(out, prompt->text.data, prompt->text.size)) return LLMRT_V2_1_CANCELLED;
  if (prompt->struct_size > sizeof(llmrt_v2_1_prompt) &&
      write_text(out, kLarger, sizeof kLarger - 1)) {
    return LLMRT_V2_1_CANCELLED;
  }
  if (keyed && write_text(out, kKeyed, sizeof kKeyed - 1)) return LLMRT_V2_1_CANCELLED;
  return LLMRT_V2_1_OK;
}

static llmrt_v2_1_status v21_execute(const llmrt_v2_1_model* model, const llmrt_v2_1_prompt* prompt,
                                     const llmrt_v2_1_sink* out) {
  (void)model;
  return reply(prompt, out, 0);
}

static llmrt_v2_1_status v21_execute_with_key(const llmrt_v2_1_model* model,
                                              const llmrt_v2_1_prompt* prompt,
                                              const llmrt_v2_1_credential* key,
                                              const llmrt_v2_1_sink* out) {
  (void)model;
  (void)key;
  return reply(prompt, out, 1);
}

static const void* v21_get_extension(const char* id) {
  (void)id;
  return NULL;
}

static const llmrt_v2_1_model v21_model = {
    sizeof(llmrt_v2_1_model),
    "v21-echo",
    "Echo built against ABI 2.1",
    "{\"type\":\"object\"}",
    NULL,
    v21_execute,
    "v21",
    "LLMRT_V21_KEY",
    LLMRT_V2_1_CAP_ACCEPTS_KEY | LLMRT_V2_1_CAP_REENTRANT | V21_UNDEFINED_BIT_5,
    v21_execute_with_key};
static const llmrt_v2_1_model* const v21_models[] = {&v21_model};
static const llmrt_v2_1_plugin v21_plugin = {
    sizeof(llmrt_v2_1_plugin), LLMRT_V2_1_ABI_VERSION, "v2_1_echo", "1.0.0", 1, v21_models,
    v21_get_extension};

LLMRT_V2_1_EXPORT const llmrt_v2_1_plugin* llmrt_plugin_entry(const llmrt_v2_1_host_info* host,
                                                              uint32_t* plugin_abi_version) {
  *plugin_abi_version = LLMRT_V2_1_ABI_VERSION;
  if (host == NULL || LLMRT_V2_1_ABI_MAJOR(host->abi_version) < 2) return NULL;
  return &v21_plugin;
}
