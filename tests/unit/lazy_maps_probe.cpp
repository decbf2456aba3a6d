// A host that does what `llmrt prompt -m echo --key k hello` does with the bundled plugins, then
// prints the shared objects its process has mapped (from /proc/self/maps), one path a line, after
// the answer and a line "--maps--". lazy_maps_test runs it in a process of its own: what a process
// maps cannot be checked from one that ran other tests before.
//
//   lazy_maps_probe lazy|eager CACHE_FILE USER_DIR
#include <llmrt/llmrt.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: lazy_maps_probe lazy|eager CACHE_FILE USER_DIR\n");
    return 2;
  }
  llmrt::RuntimeConfig config;
  config.use_plugin_path_env = false;
  config.load_user_plugins = false;
  config.plugin_loading =
      std::string(argv[1]) == "lazy" ? llmrt::PluginLoading::lazy : llmrt::PluginLoading::eager;
  config.plugin_cache_file = argv[2];
  config.user_dir = argv[3];
  try {
    const llmrt::Runtime runtime(config);
    llmrt::PromptOptions options;
    options.key = llmrt::Key("k");
    std::cout << runtime.get_model("echo").prompt("hello", std::move(options)).text << "\n";
    std::cout << "--maps--\n";
    std::set<std::string> mapped;
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
      const std::size_t slash = line.find('/');
      if (slash != std::string::npos && line.find(".so", slash) != std::string::npos) {
        mapped.insert(line.substr(slash));
      }
    }
    for (const std::string& path : mapped) std::cout << path << "\n";
  } catch (const std::exception& error) {
    std::fprintf(stderr, "lazy_maps_probe: %s\n", error.what());
    return 1;
  }
  return 0;
}
