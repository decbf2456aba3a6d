// bad_duplicate_echo: a valid SDK plugin whose model id is "echo", the id of the bundled echo
// plugin. Model ids are unique across all plugins: the plugin loaded first keeps the id, and this
// one is refused as duplicate_model with a message that names the file already offering it.
#include <llmrt/sdk.hpp>

namespace {

struct DuplicateEcho {
  static constexpr llmrt::sdk::ModelInfo info{.id = "echo", .display_name = "Duplicate echo"};

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
    out.write("duplicate: ");
    out.write(prompt.text);
  }
};

}  // namespace

LLMRT_PLUGIN("bad-duplicate-echo", "1.0.0", DuplicateEcho)
