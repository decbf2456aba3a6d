/*
 * llmrt plugin ABI — the current contract. The only thing host and plugin share.
 *
 * Plain C99: a plugin can be written in C, C++, Rust or Zig from this header and its comments.
 * Version 2.2: 2.1 plus conversations (a system prompt and earlier turns in llmrt_prompt, read only
 * by models with LLMRT_CAP_CONVERSATION) and a usage report in llmrt_sink.
 * docs/abi.md explains the versioning rules; the v1 contract is frozen in <llmrt/abi/plugin_v1.h>,
 * the 2.1 contract in <llmrt/abi/plugin_v2_1.h>.
 *
 * Conventions:
 *  - No C++ types, no exceptions, no ownership transfer across the boundary.
 *  - Every struct starts with `struct_size` (sizeof the struct as the writer compiled it). A reader
 *    reads a field only if offsetof(field) + sizeof(field) <= struct_size; fields are only ever
 *    appended, so a struct from an older minor version is read safely by a newer reader.
 *  - Descriptor strings are NUL-terminated UTF-8 owned by the plugin, valid until it is unloaded.
 *  - Call inputs (prompt, options, key) are (pointer, length) UTF-8 borrowed for the call only.
 *    A plugin must not keep a pointer to them, nor a copy of the key, after the call returns.
 *  - Output and errors go through a host-provided sink; the host copies what it is given.
 *
 * What changed from v1: a model carries key metadata, a capability bit-set, and a *separate* keyed
 * entry point `execute_with_key`. The host calls it only when LLMRT_CAP_ACCEPTS_KEY is set, and
 * refuses a plugin whose flag and function disagree. The one-argument `execute` keeps its v1
 * signature forever: a two-argument call is never made through a one-argument symbol.
 */
#ifndef LLMRT_PLUGIN_H
#define LLMRT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LLMRT_EXPORT __declspec(dllexport)
#else
#define LLMRT_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Versions ------------------------------------------------------------------------------ */

/* ABI versions are (major << 16) | minor. A new major changes a layout or a meaning; a new minor
 * only appends fields or capability bits. */
#define LLMRT_ABI_MAKE_VERSION(major, minor) \
  ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define LLMRT_ABI_MAJOR(version) ((uint32_t)(version) >> 16)
#define LLMRT_ABI_MINOR(version) ((uint32_t)(version)&0xFFFFu)
#define LLMRT_ABI_VERSION_MAJOR 2
#define LLMRT_ABI_VERSION_MINOR 2
#define LLMRT_ABI_VERSION LLMRT_ABI_MAKE_VERSION(LLMRT_ABI_VERSION_MAJOR, LLMRT_ABI_VERSION_MINOR)

/* Name of the one symbol every plugin exports, in every ABI version. */
#define LLMRT_ENTRY_SYMBOL "llmrt_plugin_entry"

/* ---- Status -------------------------------------------------------------------------------- */

typedef int32_t llmrt_status;
#define LLMRT_OK 0           /* the call completed */
#define LLMRT_FAILED 1       /* the call failed; a message was sent through sink->error */
#define LLMRT_CANCELLED 2    /* the call stopped because the sink asked it to */
#define LLMRT_BAD_REQUEST 3  /* the prompt or its options were not acceptable */
#define LLMRT_KEY_REJECTED 4 /* the provider refused the key it was given (eg: HTTP 401/403) */
#define LLMRT_UNAVAILABLE 5  /* the provider could not be reached or is overloaded; retry later */

/* ---- Plain data ---------------------------------------------------------------------------- */

/* A borrowed UTF-8 string: `data` need not be NUL-terminated. Same layout as v1. */
typedef struct llmrt_str {
  const char* data; /* eg: "Hello"; may be NULL only when size == 0 */
  size_t size;      /* eg: 5, in bytes */
} llmrt_str;

/* What the host tells the plugin when it loads it. Borrowed for the duration of the entry call.
 * Same layout as v1. */
typedef struct llmrt_host_info {
  uint32_t struct_size;     /* sizeof(llmrt_host_info), mandatory */
  uint32_t abi_version;     /* newest ABI the host speaks, eg: LLMRT_ABI_VERSION, mandatory */
  const char* host_name;    /* eg: "llmrt", mandatory */
  const char* host_version; /* eg: "0.1.0", mandatory */
  const char* user_dir;     /* eg: "/home/ann/.config/llmrt"; where a plugin may read its config */
} llmrt_host_info;

/* One earlier turn of a conversation (new in 2.2). Fixed layout: it is an array element, so it
 * never grows; a later version that needs more per turn adds a new array. */
typedef struct llmrt_message {
  llmrt_str role;    /* "user" (a prompt) or "assistant" (a reply); other roles may come later */
  llmrt_str content; /* eg: "What is 2+2?"; may be empty; any bytes */
} llmrt_message;

/* One prompt. Borrowed for the duration of the execute call only. The fields up to `options` have
 * the v1 layout; the host sets `struct_size` to cover the 2.2 fields only for a model that sets
 * LLMRT_CAP_CONVERSATION, so every other model sees exactly the 2.1 struct.
 * Read them with LLMRT_PROMPT_HAS(prompt, history_count). */
typedef struct llmrt_prompt {
  uint32_t struct_size; /* sizeof(llmrt_prompt) as the host passes it (see above), mandatory */
  uint32_t flags;       /* LLMRT_PROMPT_* bits */
  llmrt_str text;       /* eg: "Hello"; the newest user turn; may be empty; may contain any bytes */
  llmrt_str options;    /* a JSON object already checked against the model's schema, eg: "{}" */

  /* ---- fields below are new in 2.2, present only for models with LLMRT_CAP_CONVERSATION ---- */

  /* The system prompt, eg: "Answer in French."; empty (size 0) when there is none. */
  llmrt_str system;
  /* The earlier turns, oldest first, alternating "user" and "assistant"; `text` is the turn after
   * the last of them. NULL only when history_count == 0. Borrowed for this call, like `text`. */
  const llmrt_message* history;
  size_t history_count; /* eg: 4 (two exchanges); 0 for the first turn of a conversation */
} llmrt_prompt;

/* True when `prompt` (a pointer) was written by a host that passes `field` to this model. */
#define LLMRT_PROMPT_HAS(prompt, field) \
  ((prompt)->struct_size >= offsetof(llmrt_prompt, field) + sizeof(((llmrt_prompt*)0)->field))

/* The caller wants output as it is produced (several write calls). A plugin may ignore it. */
#define LLMRT_PROMPT_STREAM (1u << 0)

/* The longest key and the longest session token a host ever passes, in bytes (the host refuses
 * longer ones before any call): size a plugin's buffers by them. */
#define LLMRT_MAX_KEY_SIZE 4096
#define LLMRT_MAX_SESSION_TOKEN_SIZE 16384

/* The key for one call. Owned by the host and borrowed for that call only: the host wipes it when
 * the call returns. A plugin must not store the pointer or copy the bytes beyond the call, must not
 * log it, and must not put it in an error message.
 * Extensible: minor versions append fields; read a field only when `struct_size` covers it (a 2.0
 * host passes only `key`), eg: LLMRT_CREDENTIAL_HAS(credential, session_token). */
typedef struct llmrt_credential {
  uint32_t struct_size; /* sizeof(llmrt_credential) as the host compiled it, mandatory */
  llmrt_str key; /* eg: "sk-..."; non-empty printable ASCII without spaces, <= LLMRT_MAX_KEY_SIZE */

  /* ---- fields below are new in 2.1 ---- */

  /* A short-lived session token that goes with the key (a composite credential), eg: sent in an
   * extra header; empty (size 0) when there is none. Printable ASCII without spaces, at most
   * LLMRT_MAX_SESSION_TOKEN_SIZE (16384) bytes (a JWT or a cloud session token can pass 4096);
   * same lifetime as `key`. */
  llmrt_str session_token;
  /* When the credential stops being valid, in seconds since the Unix epoch; 0 when it does not
   * expire. The host never passes a credential that has already expired. */
  int64_t expires_at;
} llmrt_credential;

/* True when `credential` (a pointer) was written by a host that knows `field`. */
#define LLMRT_CREDENTIAL_HAS(credential, field) \
  ((credential)->struct_size >=                 \
   offsetof(llmrt_credential, field) + sizeof(((llmrt_credential*)0)->field))

/* Token usage of one call (new in 2.2), as the provider counted it. Borrowed for the usage call. */
typedef struct llmrt_usage {
  uint32_t struct_size;  /* sizeof(llmrt_usage), mandatory */
  int64_t input_tokens;  /* eg: 12; tokens (or the model's own unit) read; -1 when unknown */
  int64_t output_tokens; /* eg: 40; tokens written; -1 when unknown */
  /* The provider's own, fuller figures as a JSON object, eg: {"cached_tokens":0}; empty if none. */
  llmrt_str details_json;
} llmrt_usage;

/* Where a call's output goes. Owned by the host, valid only during the execute call, and only to be
 * used from the thread that is running that call. The fields up to `should_stop` have the v1
 * layout; read `usage` only when LLMRT_SINK_HAS(out, usage) (a 2.1 host does not pass it). */
typedef struct llmrt_sink {
  uint32_t struct_size; /* sizeof(llmrt_sink) */
  void* host_data;      /* opaque; pass it back to every function below */

  /* Delivers a chunk of output; the host copies it before returning.
   * Returns 0 to go on, non-zero when the host wants the plugin to stop: the plugin then returns
   * LLMRT_CANCELLED as soon as it can.
   * [thread executing the call] */
  int (*write)(void* host_data, const char* data, size_t size);

  /* Records a UTF-8 error message for the current call; the host copies it. Call it before
   * returning any status other than LLMRT_OK or LLMRT_CANCELLED. Never put a key in it.
   * [thread executing the call] */
  void (*error)(void* host_data, const char* message, size_t size);

  /* Returns non-zero once the host wants the call to stop; poll it while waiting on I/O.
   * [thread executing the call] */
  int (*should_stop)(void* host_data);

  /* ---- fields below are new in 2.2 ---- */

  /* Reports the call's token usage. At most once per call, after the last write (or never); the
   * host copies it. A second report is ignored and counts as a contract breach.
   * [thread executing the call] */
  void (*usage)(void* host_data, const llmrt_usage* usage);
} llmrt_sink;

/* True when `sink` (a pointer) was written by a host that knows `field`. */
#define LLMRT_SINK_HAS(sink, field) \
  ((sink)->struct_size >= offsetof(llmrt_sink, field) + sizeof(((llmrt_sink*)0)->field))

/* ---- Models -------------------------------------------------------------------------------- */

/* Capability bits of a model (llmrt_model.capabilities). Unknown bits are ignored by the host. */
#define LLMRT_CAP_ACCEPTS_KEY (1ull << 0)   /* has execute_with_key; must agree with it */
#define LLMRT_CAP_REQUIRES_KEY (1ull << 1)  /* fails without a key; needs ACCEPTS_KEY too */
#define LLMRT_CAP_STREAMING (1ull << 2)     /* writes output in several chunks as it comes */
#define LLMRT_CAP_REENTRANT (1ull << 3)     /* may run several calls at once on any threads */
#define LLMRT_CAP_DETERMINISTIC (1ull << 4) /* same prompt, options and key: same output */
/* Reads the system prompt and the earlier turns of llmrt_prompt (new in 2.2; ignored when the
 * plugin answers an older ABI). Without it the host sends only the newest prompt. */
#define LLMRT_CAP_CONVERSATION (1ull << 5)

typedef struct llmrt_model llmrt_model;

/* One model a plugin offers. Owned by the plugin, valid until it is unloaded. */
struct llmrt_model {
  uint32_t struct_size;     /* sizeof(llmrt_model), mandatory */
  const char* id;           /* eg: "gpt-4o-mini", mandatory, unique across all plugins */
  const char* display_name; /* eg: "GPT-4o mini", optional (NULL) */
  const char*
      options_schema_json; /* JSON schema of options, eg: "{\"type\":\"object\"}", optional */
  void* model_data;        /* the plugin's own, passed back unchanged; optional */

  /* Runs one prompt without a key. `prompt` and `out` are borrowed for this call only.
   * Must not throw or longjmp across the boundary. Mandatory, even for a model that requires a
   * key (it then reports LLMRT_BAD_REQUEST with a message); the host never calls it for such a
   * model in practice.
   * [any host thread; concurrently with other calls only if LLMRT_CAP_REENTRANT] */
  llmrt_status (*execute)(const llmrt_model* model, const llmrt_prompt* prompt,
                          const llmrt_sink* out);

  /* ---- fields below are new in v2 ---- */

  const char* key_name; /* keys-file entry, eg: "openai"; mandatory with ACCEPTS_KEY, else NULL */
  const char* key_env_var; /* eg: "OPENAI_API_KEY"; optional (NULL) */
  uint64_t capabilities;   /* LLMRT_CAP_* bits */

  /* Runs one prompt with the key in `key`. Present (non-NULL) exactly when the model sets
   * LLMRT_CAP_ACCEPTS_KEY. `key` is borrowed for this call only and wiped by the host afterwards.
   * [any host thread; concurrently with other calls only if LLMRT_CAP_REENTRANT] */
  llmrt_status (*execute_with_key)(const llmrt_model* model, const llmrt_prompt* prompt,
                                   const llmrt_credential* key, const llmrt_sink* out);
};

/* ---- The plugin ---------------------------------------------------------------------------- */

/* The plugin as a whole. Owned by the plugin, valid until it is unloaded. Same layout as v1. */
typedef struct llmrt_plugin {
  uint32_t struct_size;             /* sizeof(llmrt_plugin), mandatory */
  uint32_t abi_version;             /* the version this struct follows, eg: LLMRT_ABI_VERSION */
  const char* name;                 /* eg: "openai", mandatory */
  const char* version;              /* eg: "1.2.0", mandatory */
  size_t model_count;               /* number of entries in `models`; may be 0 */
  const llmrt_model* const* models; /* array of model_count pointers, none NULL */

  /* Looks up an optional extension by id, eg: "llmrt.example/1". Returns NULL for any id it does
   * not know. [any thread] optional (NULL) */
  const void* (*get_extension)(const char* id);
} llmrt_plugin;

/* The entry point every plugin exports, `extern "C"`, under LLMRT_ENTRY_SYMBOL:
 *
 *   LLMRT_EXPORT const llmrt_plugin *llmrt_plugin_entry(const llmrt_host_info *host,
 *                                                       uint32_t *plugin_abi_version);
 *
 * Negotiation (both ways, as the Vulkan loader does): `host->abi_version` is the newest ABI the
 * host speaks. The plugin stores in `*plugin_abi_version` the version it answers with, which must
 * not have a newer major than the host's unless the plugin cannot serve the host at all, and
 * returns its plugin struct of that version. When it cannot serve the host's major version it
 * stores its own version and returns NULL; the host then reports that a newer llmrt is needed.
 * `host` is borrowed for this call only.
 * [called once per load, on the loading thread, before any other function of the plugin] */
typedef const llmrt_plugin* (*llmrt_entry_fn)(const llmrt_host_info* host,
                                              uint32_t* plugin_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_PLUGIN_H */
