// shout: uppercases the prompt, word by word. Accepts a key (and only says which one it got).
#include <llmrt/sdk.hpp>

#include <cctype>
#include <string>

struct Shout {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "shout",
      .display_name = "Shout",
      .key_name = "shout",
      .key_env_var = "SHOUT_API_KEY",
      .streaming = true,
      .reentrant = true,
      .deterministic = true,
  };

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
    std::string word;
    for (char c : prompt.text) {
      word += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (c == ' ' && !out.write(std::exchange(word, {}))) return;
    }
    if (!word.empty()) out.write(word);
  }

  // Having this overload is what makes the model accept keys.
  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out,
               const llmrt::sdk::Key& key) {
    execute(prompt, out);
    out.write(" (with a key of " + std::to_string(key.value().size()) + " bytes)");
  }
};

LLMRT_PLUGIN("shout", "1.0.0", Shout)
