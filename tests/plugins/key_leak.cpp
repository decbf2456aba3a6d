// key_leak: model "key-leak" (accepts a key, does not require one, reentrant) misbehaves the way a
// careless plugin does when a provider echoes the key back: its keyed execute fails with an error
// message that CONTAINS THE KEY. The host must scrub the key out of the message it reports.
// Without a key it answers "no key".
#include <llmrt/sdk.hpp>

#include <string>

namespace {

struct KeyLeak {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "key-leak",
      .key_name = "key-leak",
      .key_env_var = "LLMRT_KEY_LEAK_KEY",
      .reentrant = true,
  };

  void execute(const llmrt::sdk::Prompt&, llmrt::sdk::Output& out) { out.write("no key"); }

  void execute(const llmrt::sdk::Prompt&, llmrt::sdk::Output&, const llmrt::sdk::Key& key) {
    // Deliberately breaks the contract ("never put a key in an error message").
    throw llmrt::sdk::Error(LLMRT_FAILED, "upstream said: invalid key " + std::string(key.value()));
  }
};

}  // namespace

LLMRT_PLUGIN("key-leak", "1.0.0", KeyLeak)
