/* bad_short_model: model #0 says struct_size 4 and is placed 8 bytes (its alignment) before the end
 * of a readable page, with an inaccessible page right after it: only struct_size and padding are
 * there.
 *
 * Contract breach: the struct is smaller than any model the ABI defines. The host must read
 * nothing but struct_size before refusing it (invalid_descriptor); reading `id` or `execute`
 * first (as it once did) touches the guard page and crashes, so the fault shows without valgrind
 * or ASan. */
#define _DEFAULT_SOURCE
#include <llmrt/plugin.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const llmrt_model* models[1];

static const llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = "short-model",
    .version = "1.0.0",
    .model_count = 1,
    .models = models,
    .get_extension = NULL,
};

/* The short model at the end of page one; page two cannot be touched. Made once per load. */
static const llmrt_model* make_short_model(void) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char* pages =
      mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const uint32_t size = 4;
  if (pages == MAP_FAILED) return NULL;
  unsigned char* const model = pages + page - 8; /* aligned for the struct's pointers */
  memcpy(model, &size, sizeof size);
  mprotect(pages + page, page, PROT_NONE);
  return (const llmrt_model*)(const void*)model;
}

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  if (models[0] == NULL) models[0] = make_short_model();
  return &plugin;
}
