/*
 * llmrt plugin ABI, version 1.0 — FROZEN.
 *
 * This is the contract as it was released before API keys existed. It is kept byte for byte
 * (a test checks its SHA-256) so that plugins compiled against it keep loading in every later host.
 * Never edit this file; new features go into <llmrt/plugin.h> under a new version.
 *
 * A v1 model can only be executed as execute(prompt). It never receives a key.
 *
 * Conventions (same in every version):
 *  - Plain C99. No C++ types, no exceptions, no ownership transfer across the boundary.
 *  - Every struct starts with `struct_size` (sizeof the struct as the writer compiled it).
 *  - Descriptor strings are NUL-terminated UTF-8 owned by the plugin, valid until it is unloaded.
 *  - Call inputs are (pointer, length) UTF-8 borrowed for the duration of the call only.
 *  - Output and errors go through a host-provided sink; the host copies what it is given.
 */
#ifndef LLMRT_ABI_PLUGIN_V1_H
#define LLMRT_ABI_PLUGIN_V1_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LLMRT_V1_EXPORT __declspec(dllexport)
#else
#define LLMRT_V1_EXPORT __attribute__((visibility("default")))
#endif

/* ABI versions are (major << 16) | minor. */
#define LLMRT_V1_ABI_VERSION ((uint32_t)((1u << 16) | 0u))

/* Name of the one symbol every plugin exports (any ABI version). */
#define LLMRT_V1_ENTRY_SYMBOL "llmrt_plugin_entry"

/* Result of a call. */
typedef int32_t llmrt_v1_status;
#define LLMRT_V1_OK 0            /* the call completed */
#define LLMRT_V1_FAILED 1        /* the call failed; a message was sent through sink->error */
#define LLMRT_V1_CANCELLED 2     /* the call stopped because the sink asked it to */
#define LLMRT_V1_BAD_REQUEST 3   /* the prompt or its options were not acceptable */

/* A borrowed UTF-8 string: `data` need not be NUL-terminated. */
typedef struct llmrt_v1_str {
  const char *data; /* eg: "Hello"; may be NULL only when size == 0 */
  size_t size;      /* eg: 5, in bytes */
} llmrt_v1_str;

/* What the host tells the plugin when it loads it. Borrowed for the duration of the entry call. */
typedef struct llmrt_v1_host_info {
  uint32_t struct_size;     /* sizeof(llmrt_v1_host_info), mandatory */
  uint32_t abi_version;     /* newest ABI the host speaks, eg: LLMRT_V1_ABI_VERSION, mandatory */
  const char *host_name;    /* eg: "llmrt", mandatory */
  const char *host_version; /* eg: "0.1.0", mandatory */
  const char *user_dir;     /* eg: "/home/ann/.config/llmrt"; where a plugin may read config */
} llmrt_v1_host_info;

/* One prompt. Borrowed for the duration of the execute call only. */
typedef struct llmrt_v1_prompt {
  uint32_t struct_size; /* sizeof(llmrt_v1_prompt), mandatory */
  uint32_t flags;       /* LLMRT_V1_PROMPT_* bits */
  llmrt_v1_str text;    /* eg: "Hello"; may be empty; may contain any bytes */
  llmrt_v1_str options; /* a JSON object already checked against the model's schema, eg: "{}" */
} llmrt_v1_prompt;

/* The caller wants output as it is produced (several write calls). A plugin may ignore it. */
#define LLMRT_V1_PROMPT_STREAM (1u << 0)

/* Where a call's output goes. Owned by the host, valid only during the execute call, and only to be
 * used from the thread that is running that call. */
typedef struct llmrt_v1_sink {
  uint32_t struct_size; /* sizeof(llmrt_v1_sink) */
  void *host_data;      /* opaque; pass it back to every function below */

  /* Delivers a chunk of output; the host copies it before returning.
   * Returns 0 to go on, non-zero when the host wants the plugin to stop: the plugin then returns
   * LLMRT_V1_CANCELLED as soon as it can.
   * [thread executing the call] */
  int (*write)(void *host_data, const char *data, size_t size);

  /* Records a UTF-8 error message for the current call; the host copies it. Call it before
   * returning LLMRT_V1_FAILED or LLMRT_V1_BAD_REQUEST. Never put a key or secret in it.
   * [thread executing the call] */
  void (*error)(void *host_data, const char *message, size_t size);

  /* Returns non-zero once the host wants the call to stop; poll it while waiting on I/O.
   * [thread executing the call] */
  int (*should_stop)(void *host_data);
} llmrt_v1_sink;

typedef struct llmrt_v1_model llmrt_v1_model;

/* One model a plugin offers. Owned by the plugin, valid until it is unloaded. */
struct llmrt_v1_model {
  uint32_t struct_size;             /* sizeof(llmrt_v1_model), mandatory */
  const char *id;                   /* eg: "legacy-echo", mandatory, unique across plugins */
  const char *display_name;         /* eg: "Legacy echo", optional (NULL) */
  const char *options_schema_json;  /* JSON schema of options, eg: "{\"type\":\"object\"}", optional */
  void *model_data;                 /* the plugin's own, passed back unchanged; optional */

  /* Runs one prompt, sending output to `out`. `prompt` and `out` are borrowed for this call only.
   * Must not throw or longjmp across the boundary.
   * [any host thread, one at a time per model: v1 models are never called concurrently] */
  llmrt_v1_status (*execute)(const llmrt_v1_model *model, const llmrt_v1_prompt *prompt,
                             const llmrt_v1_sink *out);
};

/* The plugin as a whole. Owned by the plugin, valid until it is unloaded. */
typedef struct llmrt_v1_plugin {
  uint32_t struct_size;   /* sizeof(llmrt_v1_plugin), mandatory */
  uint32_t abi_version;   /* the version this struct follows: LLMRT_V1_ABI_VERSION */
  const char *name;       /* eg: "legacy-echo", mandatory */
  const char *version;    /* eg: "1.0.0", mandatory */
  size_t model_count;     /* number of entries in `models` */
  const llmrt_v1_model *const *models; /* array of model_count pointers, none NULL */

  /* Looks up an optional extension by id. Returns NULL for any id it does not know.
   * [any thread] optional (NULL) */
  const void *(*get_extension)(const char *id);
} llmrt_v1_plugin;

/* The entry point: `const void *llmrt_plugin_entry(const llmrt_v1_host_info *host,
 *                                                   uint32_t *plugin_abi_version);`
 * Negotiation: `host->abi_version` is the newest ABI the host speaks. The plugin stores in
 * `*plugin_abi_version` the version it answers with and returns its plugin struct of that version,
 * or stores its own version and returns NULL when it cannot serve the host's major version.
 * Called once per load, on the loading thread, before any other function. */
typedef const void *(*llmrt_v1_entry_fn)(const llmrt_v1_host_info *host,
                                         uint32_t *plugin_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_ABI_PLUGIN_V1_H */
