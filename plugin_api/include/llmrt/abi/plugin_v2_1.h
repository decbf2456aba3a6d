/*
 * llmrt plugin ABI, version 2.1 — FROZEN.
 *
 * The 2.1 contract exactly as it was released (system prompts, conversations and usage reports
 * came in 2.2), with every name prefixed `llmrt_v2_1_` / `LLMRT_V2_1_` so that it can be compiled
 * next to <llmrt/plugin.h>. A test checks its SHA-256: plugins compiled against 2.1 must keep
 * loading in every later host, and a test plugin built from this header proves that they do.
 * Never edit this file; new features go into <llmrt/plugin.h> under a new version.
 *
 * Conventions (same in every version):
 *  - Plain C99. No C++ types, no exceptions, no ownership transfer across the boundary.
 *  - Every struct starts with `struct_size` (sizeof the struct as the writer compiled it).
 *  - Descriptor strings are NUL-terminated UTF-8 owned by the plugin, valid until it is unloaded.
 *  - Call inputs are (pointer, length) UTF-8 borrowed for the duration of the call only.
 *  - Output and errors go through a host-provided sink; the host copies what it is given.
 */
/* clang-format off: a frozen file is never reformatted. */
#ifndef LLMRT_V2_1_PLUGIN_H
#define LLMRT_V2_1_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LLMRT_V2_1_EXPORT __declspec(dllexport)
#else
#define LLMRT_V2_1_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Versions ------------------------------------------------------------------------------ */

/* ABI versions are (major << 16) | minor. A new major changes a layout or a meaning; a new minor
 * only appends fields or capability bits. */
#define LLMRT_V2_1_ABI_MAKE_VERSION(major, minor) \
  ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define LLMRT_V2_1_ABI_MAJOR(version) ((uint32_t)(version) >> 16)
#define LLMRT_V2_1_ABI_MINOR(version) ((uint32_t)(version)&0xFFFFu)
#define LLMRT_V2_1_ABI_VERSION_MAJOR 2
#define LLMRT_V2_1_ABI_VERSION_MINOR 1
#define LLMRT_V2_1_ABI_VERSION \
  LLMRT_V2_1_ABI_MAKE_VERSION(LLMRT_V2_1_ABI_VERSION_MAJOR, LLMRT_V2_1_ABI_VERSION_MINOR)

/* Name of the one symbol every plugin exports, in every ABI version. */
#define LLMRT_V2_1_ENTRY_SYMBOL "llmrt_plugin_entry"

/* ---- Status -------------------------------------------------------------------------------- */

typedef int32_t llmrt_v2_1_status;
#define LLMRT_V2_1_OK 0           /* the call completed */
#define LLMRT_V2_1_FAILED 1       /* the call failed; a message was sent through sink->error */
#define LLMRT_V2_1_CANCELLED 2    /* the call stopped because the sink asked it to */
#define LLMRT_V2_1_BAD_REQUEST 3  /* the prompt or its options were not acceptable */
#define LLMRT_V2_1_KEY_REJECTED 4 /* the provider refused the key it was given (eg: 401/403) */
#define LLMRT_V2_1_UNAVAILABLE \
  5 /* the provider could not be reached or is overloaded; retry later */

/* ---- Plain data ---------------------------------------------------------------------------- */

/* A borrowed UTF-8 string: `data` need not be NUL-terminated. Same layout as v1. */
typedef struct llmrt_v2_1_str {
  const char* data; /* eg: "Hello"; may be NULL only when size == 0 */
  size_t size;      /* eg: 5, in bytes */
} llmrt_v2_1_str;

/* What the host tells the plugin when it loads it. Borrowed for the duration of the entry call.
 * Same layout as v1. */
typedef struct llmrt_v2_1_host_info {
  uint32_t struct_size;     /* sizeof(llmrt_v2_1_host_info), mandatory */
  uint32_t abi_version;     /* newest ABI the host speaks, eg: LLMRT_V2_1_ABI_VERSION, mandatory */
  const char* host_name;    /* eg: "llmrt", mandatory */
  const char* host_version; /* eg: "0.1.0", mandatory */
  const char* user_dir;     /* eg: "/home/ann/.config/llmrt"; where a plugin may read its config */
} llmrt_v2_1_host_info;

/* One prompt. Borrowed for the duration of the execute call only. Same layout as v1. */
typedef struct llmrt_v2_1_prompt {
  uint32_t struct_size;   /* sizeof(llmrt_v2_1_prompt), mandatory */
  uint32_t flags;         /* LLMRT_V2_1_PROMPT_* bits */
  llmrt_v2_1_str text;    /* eg: "Hello"; may be empty; may contain any bytes, including NUL */
  llmrt_v2_1_str options; /* a JSON object already checked against the model's schema, eg: "{}" */
} llmrt_v2_1_prompt;

/* The caller wants output as it is produced (several write calls). A plugin may ignore it. */
#define LLMRT_V2_1_PROMPT_STREAM (1u << 0)

/* The key for one call. Owned by the host and borrowed for that call only: the host wipes it when
 * the call returns. A plugin must not store the pointer or copy the bytes beyond the call, must not
 * log it, and must not put it in an error message.
 * Extensible: minor versions append fields; read a field only when `struct_size` covers it (a 2.0
 * host passes only `key`), eg: LLMRT_V2_1_CREDENTIAL_HAS(credential, session_token). */
typedef struct llmrt_v2_1_credential {
  uint32_t struct_size; /* sizeof(llmrt_v2_1_credential) as the host compiled it, mandatory */
  llmrt_v2_1_str key;   /* eg: "sk-..."; non-empty printable ASCII without spaces, <= 4096 bytes */

  /* ---- fields below are new in 2.1 ---- */

  /* A short-lived session token that goes with the key (a composite credential), eg: sent in an
   * extra header; empty (size 0) when there is none. Same rules and lifetime as `key`. */
  llmrt_v2_1_str session_token;
  /* When the credential stops being valid, in seconds since the Unix epoch; 0 when it does not
   * expire. The host never passes a credential that has already expired. */
  int64_t expires_at;
} llmrt_v2_1_credential;

/* True when `credential` (a pointer) was written by a host that knows `field`. */
#define LLMRT_V2_1_CREDENTIAL_HAS(credential, field) \
  ((credential)->struct_size >=                      \
   offsetof(llmrt_v2_1_credential, field) + sizeof(((llmrt_v2_1_credential*)0)->field))

/* Where a call's output goes. Owned by the host, valid only during the execute call, and only to be
 * used from the thread that is running that call. Same layout as v1. */
typedef struct llmrt_v2_1_sink {
  uint32_t struct_size; /* sizeof(llmrt_v2_1_sink) */
  void* host_data;      /* opaque; pass it back to every function below */

  /* Delivers a chunk of output; the host copies it before returning.
   * Returns 0 to go on, non-zero when the host wants the plugin to stop: the plugin then returns
   * LLMRT_V2_1_CANCELLED as soon as it can.
   * [thread executing the call] */
  int (*write)(void* host_data, const char* data, size_t size);

  /* Records a UTF-8 error message for the current call; the host copies it. Call it before
   * returning any status other than LLMRT_V2_1_OK or LLMRT_V2_1_CANCELLED. Never put a key in it.
   * [thread executing the call] */
  void (*error)(void* host_data, const char* message, size_t size);

  /* Returns non-zero once the host wants the call to stop; poll it while waiting on I/O.
   * [thread executing the call] */
  int (*should_stop)(void* host_data);
} llmrt_v2_1_sink;

/* ---- Models -------------------------------------------------------------------------------- */

/* Capability bits of a model (llmrt_v2_1_model.capabilities). Unknown bits are ignored by the host.
 */
#define LLMRT_V2_1_CAP_ACCEPTS_KEY (1ull << 0)   /* has execute_with_key; must agree with it */
#define LLMRT_V2_1_CAP_REQUIRES_KEY (1ull << 1)  /* fails without a key; needs ACCEPTS_KEY too */
#define LLMRT_V2_1_CAP_STREAMING (1ull << 2)     /* writes output in several chunks as it comes */
#define LLMRT_V2_1_CAP_REENTRANT (1ull << 3)     /* may run several calls at once on any threads */
#define LLMRT_V2_1_CAP_DETERMINISTIC (1ull << 4) /* same prompt and options, same output */

typedef struct llmrt_v2_1_model llmrt_v2_1_model;

/* One model a plugin offers. Owned by the plugin, valid until it is unloaded. */
struct llmrt_v2_1_model {
  uint32_t struct_size;     /* sizeof(llmrt_v2_1_model), mandatory */
  const char* id;           /* eg: "gpt-4o-mini", mandatory, unique across all plugins */
  const char* display_name; /* eg: "GPT-4o mini", optional (NULL) */
  const char*
      options_schema_json; /* JSON schema of options, eg: "{\"type\":\"object\"}", optional */
  void* model_data;        /* the plugin's own, passed back unchanged; optional */

  /* Runs one prompt without a key. `prompt` and `out` are borrowed for this call only.
   * Must not throw or longjmp across the boundary. Mandatory, even for a model that requires a
   * key (it then reports LLMRT_V2_1_BAD_REQUEST with a message); the host never calls it for such a
   * model in practice.
   * [any host thread; concurrently with other calls only if LLMRT_V2_1_CAP_REENTRANT] */
  llmrt_v2_1_status (*execute)(const llmrt_v2_1_model* model, const llmrt_v2_1_prompt* prompt,
                               const llmrt_v2_1_sink* out);

  /* ---- fields below are new in v2 ---- */

  const char* key_name; /* keys-file entry, eg: "openai"; mandatory with ACCEPTS_KEY, else NULL */
  const char* key_env_var; /* eg: "OPENAI_API_KEY"; optional (NULL) */
  uint64_t capabilities;   /* LLMRT_V2_1_CAP_* bits */

  /* Runs one prompt with the key in `key`. Present (non-NULL) exactly when the model sets
   * LLMRT_V2_1_CAP_ACCEPTS_KEY. `key` is borrowed for this call only and wiped by the host
   * afterwards. [any host thread; concurrently with other calls only if LLMRT_V2_1_CAP_REENTRANT]
   */
  llmrt_v2_1_status (*execute_with_key)(const llmrt_v2_1_model* model,
                                        const llmrt_v2_1_prompt* prompt,
                                        const llmrt_v2_1_credential* key,
                                        const llmrt_v2_1_sink* out);
};

/* ---- The plugin ---------------------------------------------------------------------------- */

/* The plugin as a whole. Owned by the plugin, valid until it is unloaded. Same layout as v1. */
typedef struct llmrt_v2_1_plugin {
  uint32_t struct_size; /* sizeof(llmrt_v2_1_plugin), mandatory */
  uint32_t abi_version; /* the version this struct follows, eg: LLMRT_V2_1_ABI_VERSION */
  const char* name;     /* eg: "openai", mandatory */
  const char* version;  /* eg: "1.2.0", mandatory */
  size_t model_count;   /* number of entries in `models`; may be 0 */
  const llmrt_v2_1_model* const* models; /* array of model_count pointers, none NULL */

  /* Looks up an optional extension by id, eg: "llmrt.example/1". Returns NULL for any id it does
   * not know. [any thread] optional (NULL) */
  const void* (*get_extension)(const char* id);
} llmrt_v2_1_plugin;

/* The entry point every plugin exports, `extern "C"`, under LLMRT_V2_1_ENTRY_SYMBOL:
 *
 *   LLMRT_V2_1_EXPORT const llmrt_v2_1_plugin *llmrt_plugin_entry(const llmrt_v2_1_host_info *host,
 *                                                       uint32_t *plugin_abi_version);
 *
 * Negotiation (both ways, as the Vulkan loader does): `host->abi_version` is the newest ABI the
 * host speaks. The plugin stores in `*plugin_abi_version` the version it answers with, which must
 * not have a newer major than the host's unless the plugin cannot serve the host at all, and
 * returns its plugin struct of that version. When it cannot serve the host's major version it
 * stores its own version and returns NULL; the host then reports that a newer llmrt is needed.
 * `host` is borrowed for this call only.
 * [called once per load, on the loading thread, before any other function of the plugin] */
typedef const llmrt_v2_1_plugin* (*llmrt_v2_1_entry_fn)(const llmrt_v2_1_host_info* host,
                                                        uint32_t* plugin_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_V2_1_PLUGIN_H */
