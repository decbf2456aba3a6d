// llmrt-conformance: checks that a plugin file keeps the llmrt plugin ABI contract. The only file
// that includes CLI11 (slow to compile): it parses the command line into Options and calls
// run_conformance. Exit codes: 0 every check passed or was skipped, 1 a check failed, 2 usage
// error.
#include <llmrt/plugin.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <system_error>

#include "options.hpp"

namespace {

using llmrt::conformance::kExitUsage;

// A directory for host_info.user_dir that no real user configuration lives in, removed at the end.
class TemporaryUserDir {
 public:
  TemporaryUserDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "llmrt-conformance-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TemporaryUserDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TemporaryUserDir(const TemporaryUserDir&) = delete;
  TemporaryUserDir& operator=(const TemporaryUserDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

int main(int argc, char** argv) {
  llmrt::conformance::Options options;
  std::string plugin;
  std::string model;
  std::uint64_t seed = 0;
  std::string junit;

  CLI::App app{
      "Checks that an llmrt plugin keeps the plugin ABI contract: each check runs in a "
      "child process of its own, with a timeout.",
      "llmrt-conformance"};
  app.set_version_flag("--version", std::string("llmrt-conformance ") + LLMRT_CONFORMANCE_VERSION);
  app.add_option("PLUGIN_FILE", plugin, "The plugin to check, eg: build/my_plugin.so")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::Option* model_option =
      app.add_option("--model", model, "Run the model checks on this model only")->type_name("ID");
  CLI::Option* seed_option =
      app.add_option("--seed", seed, "Seed of the generated prompts (default: random; printed)")
          ->type_name("N");
  app.add_option("--repeat", options.repeat,
                 "Run every check N times (with seeds S, S+1, ... where S is the seed)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1000u));
  CLI::Option* junit_option =
      app.add_option("--junit", junit, "Also write the results as JUnit XML to FILE")
          ->type_name("FILE");
  app.add_flag("--in-process", options.in_process,
               "Run the checks in this process, without fork or timeout (for gdb)");
  app.add_option("--timeout-ms", options.timeout_ms, "Time limit of each check (default: 10000)")
      ->type_name("N")
      ->check(CLI::Range(1u, 3600u * 1000u));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }

  // dlopen searches the library path for a name without a slash, never the current folder: an
  // author's `llmrt-conformance acme.so` means the file here.
  options.plugin = std::filesystem::absolute(plugin);
  if (model_option->count() > 0) options.model = model;
  if (junit_option->count() > 0) options.junit = junit;
  if (seed_option->count() > 0) {
    options.seed = seed;
  } else {
    std::random_device entropy;
    options.seed = entropy() % 1000000000u;
  }
  const TemporaryUserDir user_dir;
  options.user_dir = user_dir.path();
  try {
    return llmrt::conformance::run_conformance(options);
  } catch (const std::exception& error) {
    std::cerr << "llmrt-conformance: error: " << error.what() << "\n";
    return llmrt::conformance::kExitSomeFailed;
  }
}
