/* Compiled as strict C99 (-std=c99 -pedantic -Wall -Wextra -Werror): proves that the contract
 * headers are plain C that a C plugin can use, and that every struct v1 and v2 share has the same
 * layout, so a v1 plugin's structs are read correctly by a v2 host.
 *
 * The layout checks are compile-time (_Static_assert is C11: `__extension__` keeps -pedantic quiet
 * about it). llmrt_abi_c_header_check() then uses every type at run time and returns the number of
 * failed checks. */
#include <llmrt/abi/plugin_v1.h>
#include <llmrt/abi/plugin_v2_1.h>
#include <llmrt/plugin.h>

#include <stddef.h>
#include <string.h>

#define LLMRT_CHECK_STATIC(condition, message) __extension__ _Static_assert(condition, message)

/* Field `field` is at the same offset with the same size in v2 type `v2` and v1 type `v1`. */
#define LLMRT_CHECK_SAME_FIELD(v2, v1, field)                                              \
  LLMRT_CHECK_STATIC(offsetof(v2, field) == offsetof(v1, field), #field " moved in " #v2); \
  LLMRT_CHECK_STATIC(sizeof(((v2*)0)->field) == sizeof(((v1*)0)->field),                   \
                     #field " changed size in " #v2)

/* ---- Versions, statuses and flags mean the same in both headers ---- */

LLMRT_CHECK_STATIC(LLMRT_V1_ABI_VERSION == LLMRT_ABI_MAKE_VERSION(1, 0), "v1 is version 1.0");
LLMRT_CHECK_STATIC(LLMRT_ABI_VERSION == LLMRT_ABI_MAKE_VERSION(2, 2), "this header is version 2.2");
LLMRT_CHECK_STATIC(LLMRT_ABI_MAJOR(LLMRT_ABI_VERSION) == LLMRT_ABI_VERSION_MAJOR, "major");
LLMRT_CHECK_STATIC(LLMRT_ABI_MINOR(LLMRT_ABI_VERSION) == LLMRT_ABI_VERSION_MINOR, "minor");
LLMRT_CHECK_STATIC(LLMRT_ABI_MAJOR(LLMRT_ABI_MAKE_VERSION(3, 7)) == 3, "major of 3.7");
LLMRT_CHECK_STATIC(LLMRT_ABI_MINOR(LLMRT_ABI_MAKE_VERSION(3, 7)) == 7, "minor of 3.7");
LLMRT_CHECK_STATIC(LLMRT_OK == LLMRT_V1_OK, "LLMRT_OK");
LLMRT_CHECK_STATIC(LLMRT_FAILED == LLMRT_V1_FAILED, "LLMRT_FAILED");
LLMRT_CHECK_STATIC(LLMRT_CANCELLED == LLMRT_V1_CANCELLED, "LLMRT_CANCELLED");
LLMRT_CHECK_STATIC(LLMRT_BAD_REQUEST == LLMRT_V1_BAD_REQUEST, "LLMRT_BAD_REQUEST");
LLMRT_CHECK_STATIC(LLMRT_PROMPT_STREAM == LLMRT_V1_PROMPT_STREAM, "LLMRT_PROMPT_STREAM");
LLMRT_CHECK_STATIC(sizeof(llmrt_status) == sizeof(llmrt_v1_status), "status size");
LLMRT_CHECK_STATIC(sizeof(LLMRT_ENTRY_SYMBOL) == sizeof(LLMRT_V1_ENTRY_SYMBOL), "entry symbol");

/* Capability bits are distinct single bits. */
LLMRT_CHECK_STATIC((LLMRT_CAP_ACCEPTS_KEY & LLMRT_CAP_REQUIRES_KEY) == 0, "distinct bits");
LLMRT_CHECK_STATIC(((LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REQUIRES_KEY | LLMRT_CAP_STREAMING |
                     LLMRT_CAP_REENTRANT | LLMRT_CAP_DETERMINISTIC) == 0x1full),
                   "capability bits 0..4");

/* ---- Shared structs: identical layout ---- */

LLMRT_CHECK_STATIC(sizeof(llmrt_str) == sizeof(llmrt_v1_str), "llmrt_str size");
LLMRT_CHECK_SAME_FIELD(llmrt_str, llmrt_v1_str, data);
LLMRT_CHECK_SAME_FIELD(llmrt_str, llmrt_v1_str, size);

LLMRT_CHECK_STATIC(sizeof(llmrt_host_info) == sizeof(llmrt_v1_host_info), "host_info size");
LLMRT_CHECK_SAME_FIELD(llmrt_host_info, llmrt_v1_host_info, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_host_info, llmrt_v1_host_info, abi_version);
LLMRT_CHECK_SAME_FIELD(llmrt_host_info, llmrt_v1_host_info, host_name);
LLMRT_CHECK_SAME_FIELD(llmrt_host_info, llmrt_v1_host_info, host_version);
LLMRT_CHECK_SAME_FIELD(llmrt_host_info, llmrt_v1_host_info, user_dir);

/* 2.2 appended to the prompt: the v1 prompt is its prefix, and the 2.2 fields start at its end. */
LLMRT_CHECK_STATIC(offsetof(llmrt_prompt, system) == sizeof(llmrt_v1_prompt), "prompt prefix");
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v1_prompt, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v1_prompt, flags);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v1_prompt, text);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v1_prompt, options);

/* 2.2 appended to the sink: the v1 sink is its prefix, and `usage` starts at its end. */
LLMRT_CHECK_STATIC(offsetof(llmrt_sink, usage) == sizeof(llmrt_v1_sink), "sink prefix");
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v1_sink, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v1_sink, host_data);
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v1_sink, write);
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v1_sink, error);
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v1_sink, should_stop);

LLMRT_CHECK_STATIC(sizeof(llmrt_plugin) == sizeof(llmrt_v1_plugin), "plugin size");
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, abi_version);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, name);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, version);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, model_count);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, models);
LLMRT_CHECK_SAME_FIELD(llmrt_plugin, llmrt_v1_plugin, get_extension);

/* llmrt_model only appends to llmrt_v1_model: the v1 fields up to execute are where v1 has them,
 * and every v2 field comes after the end of a v1 model. */
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, id);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, display_name);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, options_schema_json);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, model_data);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v1_model, execute);
LLMRT_CHECK_STATIC(offsetof(llmrt_model, key_name) >= sizeof(llmrt_v1_model),
                   "v2 model fields start after the v1 model");
LLMRT_CHECK_STATIC(sizeof(llmrt_model) > sizeof(llmrt_v1_model), "v2 model is larger");
LLMRT_CHECK_STATIC(offsetof(llmrt_model, key_env_var) > offsetof(llmrt_model, key_name), "order");
LLMRT_CHECK_STATIC(offsetof(llmrt_model, capabilities) > offsetof(llmrt_model, key_env_var),
                   "order");
LLMRT_CHECK_STATIC(offsetof(llmrt_model, execute_with_key) > offsetof(llmrt_model, capabilities),
                   "order");

/* ---- 2.2 only appends to the frozen 2.1 contract ---- */

LLMRT_CHECK_STATIC(LLMRT_V2_1_ABI_VERSION == LLMRT_ABI_MAKE_VERSION(2, 1), "frozen 2.1 is 2.1");
LLMRT_CHECK_STATIC(LLMRT_CAP_CONVERSATION == (1ull << 5), "conversation is bit 5");
LLMRT_CHECK_STATIC((LLMRT_CAP_CONVERSATION &
                    (LLMRT_V2_1_CAP_ACCEPTS_KEY | LLMRT_V2_1_CAP_REQUIRES_KEY |
                     LLMRT_V2_1_CAP_STREAMING | LLMRT_V2_1_CAP_REENTRANT |
                     LLMRT_V2_1_CAP_DETERMINISTIC)) == 0,
                   "the 2.2 bit is new");
LLMRT_CHECK_STATIC(offsetof(llmrt_prompt, system) == sizeof(llmrt_v2_1_prompt),
                   "2.1 prompt prefix");
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v2_1_prompt, struct_size);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v2_1_prompt, flags);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v2_1_prompt, text);
LLMRT_CHECK_SAME_FIELD(llmrt_prompt, llmrt_v2_1_prompt, options);
LLMRT_CHECK_STATIC(offsetof(llmrt_sink, usage) == sizeof(llmrt_v2_1_sink), "2.1 sink prefix");
LLMRT_CHECK_SAME_FIELD(llmrt_sink, llmrt_v2_1_sink, should_stop);
LLMRT_CHECK_STATIC(sizeof(llmrt_model) == sizeof(llmrt_v2_1_model), "model unchanged in 2.2");
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v2_1_model, capabilities);
LLMRT_CHECK_SAME_FIELD(llmrt_model, llmrt_v2_1_model, execute_with_key);
LLMRT_CHECK_STATIC(sizeof(llmrt_credential) == sizeof(llmrt_v2_1_credential), "credential");
LLMRT_CHECK_SAME_FIELD(llmrt_credential, llmrt_v2_1_credential, expires_at);
LLMRT_CHECK_STATIC(sizeof(llmrt_plugin) == sizeof(llmrt_v2_1_plugin), "plugin unchanged");
LLMRT_CHECK_STATIC(sizeof(llmrt_message) == 2 * sizeof(llmrt_str), "message: role + content");
LLMRT_CHECK_STATIC(offsetof(llmrt_usage, struct_size) == 0, "usage struct_size first");

/* Every struct starts with its size. */
LLMRT_CHECK_STATIC(offsetof(llmrt_credential, struct_size) == 0, "credential struct_size first");
/* 2.1 only appended to the credential: a 2.0 credential (struct_size and key) is its prefix. */
LLMRT_CHECK_STATIC(offsetof(llmrt_credential, key) == 8, "credential key where 2.0 had it");
LLMRT_CHECK_STATIC(offsetof(llmrt_credential, session_token) == 24, "2.1 token after 2.0's end");
LLMRT_CHECK_STATIC(offsetof(llmrt_credential, expires_at) == 40, "2.1 expiry after the token");
LLMRT_CHECK_STATIC(offsetof(llmrt_model, struct_size) == 0, "model struct_size first");
LLMRT_CHECK_STATIC(offsetof(llmrt_plugin, struct_size) == 0, "plugin struct_size first");

/* ---- Run-time use of every type ---- */

typedef struct collected {
  char text[64];
  size_t text_size;
  char error[64];
  size_t error_size;
} collected;

static void append(char* buffer, size_t* buffer_size, const char* data, size_t size) {
  if (*buffer_size + size >= 64) size = 63 - *buffer_size;
  memcpy(buffer + *buffer_size, data, size);
  *buffer_size += size;
  buffer[*buffer_size] = '\0';
}

static int collect_write(void* host_data, const char* data, size_t size) {
  collected* c = (collected*)host_data;
  append(c->text, &c->text_size, data, size);
  return 0;
}

static void collect_error(void* host_data, const char* message, size_t size) {
  collected* c = (collected*)host_data;
  append(c->error, &c->error_size, message, size);
}

static int never_stop(void* host_data) {
  (void)host_data;
  return 0;
}

static llmrt_status v2_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                               const llmrt_sink* out) {
  (void)model;
  out->write(out->host_data, prompt->text.data, prompt->text.size);
  return LLMRT_OK;
}

static llmrt_status v2_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                        const llmrt_credential* key, const llmrt_sink* out) {
  (void)model;
  (void)prompt;
  if (key->struct_size < offsetof(llmrt_credential, key) + sizeof(key->key) || key->key.size == 0) {
    out->error(out->host_data, "no key", 6);
    return LLMRT_KEY_REJECTED;
  }
  out->write(out->host_data, "keyed", 5);
  return LLMRT_OK;
}

static const void* no_extension(const char* id) {
  (void)id;
  return NULL;
}

static const llmrt_model v2_model = {sizeof(llmrt_model),
                                     "c-check",
                                     "C check",
                                     "{\"type\":\"object\"}",
                                     NULL,
                                     v2_execute,
                                     "c-check",
                                     "C_CHECK_KEY",
                                     LLMRT_CAP_ACCEPTS_KEY | LLMRT_CAP_REENTRANT,
                                     v2_execute_with_key};
static const llmrt_model* const v2_models[] = {&v2_model};
static const llmrt_plugin v2_plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION, "c-check", "1.0.0", 1, v2_models, no_extension};

static const llmrt_plugin* v2_entry(const llmrt_host_info* host, uint32_t* plugin_abi_version) {
  *plugin_abi_version = LLMRT_ABI_VERSION;
  return LLMRT_ABI_MAJOR(host->abi_version) >= LLMRT_ABI_VERSION_MAJOR ? &v2_plugin : NULL;
}

static llmrt_v1_status v1_execute(const llmrt_v1_model* model, const llmrt_v1_prompt* prompt,
                                  const llmrt_v1_sink* out) {
  (void)model;
  out->write(out->host_data, prompt->text.data, prompt->text.size);
  return LLMRT_V1_OK;
}

static const llmrt_v1_model v1_model = {
    sizeof(llmrt_v1_model), "c-check-v1", NULL, NULL, NULL, v1_execute};
static const llmrt_v1_model* const v1_models[] = {&v1_model};
static const llmrt_v1_plugin v1_plugin = {sizeof(llmrt_v1_plugin),
                                          LLMRT_V1_ABI_VERSION,
                                          "c-check-v1",
                                          "1.0.0",
                                          1,
                                          v1_models,
                                          no_extension};

static const void* v1_entry(const llmrt_v1_host_info* host, uint32_t* plugin_abi_version) {
  *plugin_abi_version = LLMRT_V1_ABI_VERSION;
  return (host->abi_version >> 16) >= 1 ? &v1_plugin : NULL;
}

int llmrt_abi_c_header_check(void);

int llmrt_abi_c_header_check(void) {
  int failures = 0;
  uint32_t answered = 0;
  const llmrt_host_info host = {sizeof(llmrt_host_info), LLMRT_ABI_VERSION, "c-check", "0.0.0",
                                "/nonexistent"};
  const llmrt_v1_host_info v1_host = {sizeof(llmrt_v1_host_info), LLMRT_V1_ABI_VERSION, "c-check",
                                      "0.0.0", NULL};
  llmrt_entry_fn entry = v2_entry;
  llmrt_v1_entry_fn old_entry = v1_entry;
  const llmrt_plugin* plugin;
  const llmrt_v1_plugin* old_plugin;
  collected c;
  llmrt_sink sink = {sizeof(llmrt_sink), NULL, collect_write, collect_error, never_stop, NULL};
  llmrt_v1_sink v1_sink = {sizeof(llmrt_v1_sink), NULL, collect_write, collect_error, never_stop};
  llmrt_prompt prompt = {
      sizeof(llmrt_prompt), LLMRT_PROMPT_STREAM, {"hi", 2}, {"{}", 2}, {NULL, 0}, NULL, 0};
  llmrt_v1_prompt v1_prompt = {sizeof(llmrt_v1_prompt), 0, {"old", 3}, {"{}", 2}};
  llmrt_credential credential = {sizeof(llmrt_credential), {"sk-c", 4}, {NULL, 0}, 0};
  llmrt_status status;
  llmrt_v1_status v1_status;

  /* The sink callbacks have the same types in both versions: one host function serves both. */
  int (*shared_write)(void*, const char*, size_t) = v1_sink.write;
  if (shared_write != sink.write) ++failures;

  if (strcmp(LLMRT_ENTRY_SYMBOL, LLMRT_V1_ENTRY_SYMBOL) != 0) ++failures;
  if (strcmp(LLMRT_ENTRY_SYMBOL, "llmrt_plugin_entry") != 0) ++failures;

  plugin = entry(&host, &answered);
  if (plugin == NULL || answered != LLMRT_ABI_VERSION || plugin->model_count != 1) return 1;
  if (plugin->get_extension("llmrt.unknown/1") != NULL) ++failures;

  memset(&c, 0, sizeof c);
  sink.host_data = &c;
  status = plugin->models[0]->execute(plugin->models[0], &prompt, &sink);
  if (status != LLMRT_OK || strcmp(c.text, "hi") != 0) ++failures;

  memset(&c, 0, sizeof c);
  if ((plugin->models[0]->capabilities & LLMRT_CAP_ACCEPTS_KEY) == 0) ++failures;
  status = plugin->models[0]->execute_with_key(plugin->models[0], &prompt, &credential, &sink);
  if (status != LLMRT_OK || strcmp(c.text, "keyed") != 0) ++failures;

  memset(&c, 0, sizeof c);
  credential.key.size = 0;
  status = plugin->models[0]->execute_with_key(plugin->models[0], &prompt, &credential, &sink);
  if (status != LLMRT_KEY_REJECTED || strcmp(c.error, "no key") != 0) ++failures;
  if (LLMRT_UNAVAILABLE == LLMRT_KEY_REJECTED) ++failures;

  /* A v1 plugin answers 1.0 to a 2.0 host; its structs are then read as v1 structs. */
  old_plugin = (const llmrt_v1_plugin*)old_entry(&v1_host, &answered);
  if (old_plugin == NULL || answered != LLMRT_V1_ABI_VERSION) return 1;
  memset(&c, 0, sizeof c);
  v1_sink.host_data = &c;
  v1_status = old_plugin->models[0]->execute(old_plugin->models[0], &v1_prompt, &v1_sink);
  if (v1_status != LLMRT_V1_OK || strcmp(c.text, "old") != 0) ++failures;
  if (old_plugin->models[0]->struct_size >= sizeof(llmrt_model)) ++failures;

  return failures;
}
