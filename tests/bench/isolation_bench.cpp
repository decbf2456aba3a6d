// Plugin isolation's price per call: one prompt round trip through an llmrt-plugin-host worker
// (a call frame out, chunk and done frames back) against the same prompt in-process, with and
// without a per-call key, through echo. See docs/performance.md#plugin-isolation.
//
//   build/bin/llmrt_bench_isolation --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <llmrt/llmrt.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_support.hpp"

namespace {

constexpr const char* kPrompt = "Hello, world";
constexpr const char* kKey = "sk-bench-isolation-1234567890";

llmrt::RuntimeConfig config(const std::filesystem::path& user_dir, llmrt::IsolationMode mode) {
  llmrt::RuntimeConfig config;
  config.load_bundled_plugins = false;
  config.use_plugin_path_env = false;
  config.load_user_plugins = false;
  config.plugin_paths = {std::filesystem::path(LLMRT_BUNDLED_PLUGIN_DIR) / "echo.so"};
  config.user_dir = user_dir;
  config.environment = [](const char*) -> const char* { return nullptr; };
  config.isolation.mode = mode;
  config.isolation.workers_per_plugin = 1;
  return config;
}

struct Fixture {
  llmrt::test::TempDir dir;
  llmrt::Runtime in_process{config(dir.path(), llmrt::IsolationMode::in_process)};
  llmrt::Runtime in_worker{config(dir.path(), llmrt::IsolationMode::process)};
};

Fixture& fixture() {
  static Fixture* instance = new Fixture;
  return *instance;
}

void prompt_once(const llmrt::Model& model, bool keyed) {
  llmrt::PromptOptions options;
  options.stream = false;
  if (keyed) options.key = llmrt::Key(kKey);
  llmrt::Response response = model.prompt(kPrompt, std::move(options));
  benchmark::DoNotOptimize(response.text.data());
  if (response.text.rfind(kPrompt, 0) != 0) {
    std::fprintf(stderr, "unexpected answer: %s\n", response.text.c_str());
    std::exit(1);
  }
}

void BM_PromptInProcess(benchmark::State& state) {
  const llmrt::Model model = fixture().in_process.get_model("echo");
  for (auto _ : state) prompt_once(model, state.range(0) != 0);
}
BENCHMARK(BM_PromptInProcess)->ArgName("keyed")->Arg(0)->Arg(1)->UseRealTime();

void BM_PromptThroughWorker(benchmark::State& state) {
  const llmrt::Model model = fixture().in_worker.get_model("echo");
  for (auto _ : state) prompt_once(model, state.range(0) != 0);
}
BENCHMARK(BM_PromptThroughWorker)->ArgName("keyed")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
