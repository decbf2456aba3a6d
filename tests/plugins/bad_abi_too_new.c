/* bad_abi_too_new: a plugin built for a future major ABI (3.0) that cannot serve a 2.x host.
 *
 * Contract: it answers its own version (3.0) in *plugin_abi_version and returns NULL. The host must
 * refuse it with "needs a newer llmrt (plugin ABI 3.0, host ABI 2.0)". It is not a breach by the
 * plugin; it is the negotiation's "no" answer. */
#include <llmrt/plugin.h>

LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                    uint32_t* plugin_abi_version) {
  (void)host;
  if (plugin_abi_version != NULL) *plugin_abi_version = LLMRT_ABI_MAKE_VERSION(3, 0);
  return NULL;
}
