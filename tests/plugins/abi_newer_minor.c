/* abi_newer_minor: a plugin built against a future minor version of the ABI (2.7).
 *
 * Minor versions only append fields and capability bits, so a 2.0 host must LOAD it: the plugin
 * and model structs below are the 2.0 structs with fields appended, their struct_size is the larger
 * size, and the model sets a capability bit unknown to 2.0 (unknown bits are ignored). A host that
 * compared struct_size for equality, or refused a newer minor, breaks this promise.
 * Model "newer-minor" echoes the prompt. */
#include <llmrt/plugin.h>

#include <stddef.h>

#define NEWER_MINOR_ABI_VERSION LLMRT_ABI_MAKE_VERSION(2, 7)

/* A capability bit that a 2.7 header might define; a 2.0 host must ignore it. */
#define NEWER_MINOR_CAP_FUTURE (1ull << 40)

/* llmrt_model as a 2.7 header would declare it: the 2.0 fields, then new ones. */
typedef struct newer_minor_model {
  llmrt_model v2_0;
  const char* future_description; /* eg: "a field added in 2.7" */
  uint64_t future_limits;         /* eg: 4096 */
  const void* (*future_function)(const char* id);
} newer_minor_model;

/* llmrt_plugin as a 2.7 header would declare it. */
typedef struct newer_minor_plugin {
  llmrt_plugin v2_0;
  const char* future_homepage; /* eg: "https://example.invalid/newer-minor" */
  uint32_t future_flags;
} newer_minor_plugin;

static llmrt_status newer_minor_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                        const llmrt_sink* out) {
  (void)model;
  if (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size)) {
    return LLMRT_CANCELLED;
  }
  return LLMRT_OK;
}

static const void* newer_minor_get_extension(const char* id) {
  (void)id;
  return NULL;
}

static const newer_minor_model model_descriptor = {
    {
        sizeof(newer_minor_model), /* struct_size: larger than a 2.0 host's sizeof(llmrt_model) */
        "newer-minor",
        "Newer minor ABI (2.7)",
        "{\"type\":\"object\"}",
        NULL,
        newer_minor_execute,
        NULL,
        NULL,
        LLMRT_CAP_REENTRANT | LLMRT_CAP_DETERMINISTIC | NEWER_MINOR_CAP_FUTURE,
        NULL,
    },
    "a field added in 2.7",
    4096,
    newer_minor_get_extension,
};

static const llmrt_model* const models[] = {&model_descriptor.v2_0};

static const newer_minor_plugin plugin = {
    {
        sizeof(newer_minor_plugin), /* struct_size: larger than a 2.0 host's sizeof(llmrt_plugin) */
        NEWER_MINOR_ABI_VERSION,
        "abi-newer-minor",
        "2.7.0",
        1,
        models,
        newer_minor_get_extension,
    },
    "https://example.invalid/newer-minor",
    1u,
};

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = NEWER_MINOR_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < 2) return NULL;
  return &plugin.v2_0;
}
