// A minimal host: loads the installed plugins, prompts a model with a per-call key read from the
// environment, streams the answer, and reports where the key came from (never the key itself).
//   host_app [MODEL] [PROMPT]
#include <llmrt/llmrt.hpp>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  const std::string model_id = argc > 1 ? argv[1] : "echo";
  const std::string text = argc > 2 ? argv[2] : "Hello from a host application";
  try {
    llmrt::Runtime runtime;
    for (const auto& error : runtime.load_errors()) {
      std::cerr << "warning: " << error.message << "\n";
    }
    llmrt::PromptOptions options;
    if (const char* key = std::getenv("HOST_APP_KEY")) options.key = llmrt::Key(key);
    options.on_chunk = [](std::string_view chunk) {
      std::cout << chunk << std::flush;
      return true;
    };
    const llmrt::Response response = runtime.get_model(model_id).prompt(text, std::move(options));
    std::cout << "\n[model " << response.model_id << ", key source "
              << llmrt::to_string(response.key_source) << "]\n";
    for (const auto& warning : response.warnings) std::cerr << "warning: " << warning << "\n";
  } catch (const llmrt::Error& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
