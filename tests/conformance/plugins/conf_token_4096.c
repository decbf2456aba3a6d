/* conf_token_4096: model "token-4096" sized its token buffer by the key's limit (4096 bytes), as
 * the ABI header's comment once suggested, and asserts the token fits. Breaks: a session token may
 * be up to LLMRT_MAX_SESSION_TOKEN_SIZE (16384) bytes. Must fail exactly keys.largest_credential.
 */
#include <assert.h>
#include <stdlib.h>

#include "conformance_test_plugin.h"

static llmrt_status token_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                  const llmrt_sink* out) {
  (void)model;
  return conf_echo(prompt, out);
}

static llmrt_status token_execute_with_key(const llmrt_model* model, const llmrt_prompt* prompt,
                                           const llmrt_credential* key, const llmrt_sink* out) {
  char token[4096];
  if (LLMRT_CREDENTIAL_HAS(key, session_token) && key->session_token.size > 0) {
    assert(key->session_token.size <= sizeof token);     /* the overflow a real plugin would have */
    if (key->session_token.size > sizeof token) abort(); /* also with NDEBUG */
    memcpy(token, key->session_token.data, key->session_token.size);
  }
  return token_execute(model, prompt, out);
}

static const llmrt_model model = {
    .struct_size = sizeof(llmrt_model),
    .id = "token-4096",
    .execute = token_execute,
    .key_name = "token-4096",
    .capabilities = LLMRT_CAP_ACCEPTS_KEY,
    .execute_with_key = token_execute_with_key,
};

CONF_PLUGIN("conf-token-4096", model)
