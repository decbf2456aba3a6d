/* bad_unterminated_name: the plugin's name is 4096 bytes of 'a' without a terminating NUL, ending
 * where an inaccessible page begins.
 *
 * Contract breach: descriptor strings are NUL-terminated. The host must cap every plugin string's
 * length before measuring it (strnlen) and refuse the plugin (invalid_descriptor); a strlen runs
 * into the guard page and crashes. */
#define _DEFAULT_SOURCE
#include <llmrt/plugin.h>

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static llmrt_plugin plugin = {
    .struct_size = sizeof(llmrt_plugin),
    .abi_version = LLMRT_ABI_VERSION,
    .name = NULL,
    .version = "1.0.0",
    .model_count = 0,
    .models = NULL,
    .get_extension = NULL,
};

static const char* make_unterminated_name(void) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char* pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) return NULL;
  memset(pages, 'a', page);
  mprotect(pages + page, page, PROT_NONE);
  return pages;
}

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  if (plugin_abi_version == NULL) return NULL;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == NULL || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return NULL;
  if (plugin.name == NULL) plugin.name = make_unterminated_name();
  return &plugin;
}
