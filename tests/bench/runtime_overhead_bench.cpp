// What the runtime adds on top of calling a plugin directly.
//
// The floor (BM_DirectPlugin*) loads the bundled echo.so with Boost.DLL, asks its entry point for
// the plugin struct, and calls the model's execute function pointer with a sink that appends to a
// std::string: nothing between the caller and the plugin. The BM_Runtime* benchmarks send the same
// prompt through llmrt::Runtime / llmrt::Model, so "overhead = runtime - direct" is what llmrt
// costs per call: key resolution, options, the sink, the Response, the lock for serial models.
//
// Every benchmark reports its own wall time per call in the `ns_per_call` counter. The runtime
// benchmarks also report, when the benchmark they are compared with ran earlier in the same process
// (as in a full run):
//   floor_ns      the direct call they are compared with (named in the label): the median of that
//                 benchmark's runs so far;
//   overhead_ns   ns_per_call - floor_ns: what the runtime adds;
//   vs_prompt_pct for the keyed benchmarks: how much slower than BM_RuntimePrompt, in percent.
// The BM_Cost* benchmarks time, alone, the pieces of work the runtime does per call, so that the
// overhead can be explained in nanoseconds rather than guessed.
// These counters are a reading aid; docs/performance.md has medians of repetitions.
#include <llmrt/abi/plugin_v1.h>
#include <llmrt/plugin.h>
#include <sys/stat.h>
#include <llmrt/llmrt.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPrompt = "Hello";
// The options text the runtime sends when a call gives none; the direct call sends the same, so
// that the plugin does the same work on both sides.
constexpr std::string_view kNoOptions = "{}";
// Realistic lengths: OpenAI-style keys are about 51 characters.
constexpr const char* kPerCallKey = "sk-bench-per-call-0123456789abcdefghijklmnopqrstuvwx";
constexpr const char* kInstanceKey = "sk-bench-instance-0123456789abcdefghijklmnopqrstuvw";
constexpr const char* kStoredKey = "sk-bench-keys-file-0123456789abcdefghijklmnopqrstuv";

[[noreturn]] void die(const std::string& why) {
  throw std::runtime_error("llmrt_bench: " + why);
}

// ---- The floor: the plugin called through its function pointers, nothing else
// --------------------

// The smallest sink a host can give: appends every chunk to a string.
struct StringSink {
  std::string text;

  // Called by plugin code, some of it C: nothing may throw through it (a failed append ends the
  // benchmark with std::terminate, which is what a benchmark should do).
  static int write(void* host_data, const char* data, std::size_t size) noexcept {
    static_cast<StringSink*>(host_data)->text.append(data, size);
    return 0;
  }
  static void error(void*, const char*, std::size_t) noexcept {}
  static int should_stop(void*) noexcept { return 0; }

  llmrt_sink sink() { return {sizeof(llmrt_sink), this, &write, &error, &should_stop}; }
  llmrt_v1_sink v1_sink() { return {sizeof(llmrt_v1_sink), this, &write, &error, &should_stop}; }
};

constexpr auto kLoadMode = boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local;

// echo.so, loaded and negotiated by hand; `model` is its "echo" model.
struct DirectEcho {
  boost::dll::shared_library library;
  const llmrt_model* model = nullptr;

  explicit DirectEcho(const fs::path& dir) : library(dir / "echo.so", kLoadMode) {
    const llmrt_host_info host = {sizeof(llmrt_host_info), LLMRT_ABI_VERSION, "llmrt_bench", "0",
                                  ""};
    std::uint32_t answered = 0;
    const llmrt_plugin* plugin =
        library.get<const llmrt_plugin*(const llmrt_host_info*, std::uint32_t*)>(
            LLMRT_ENTRY_SYMBOL)(&host, &answered);
    if (plugin == nullptr || LLMRT_ABI_MAJOR(answered) != LLMRT_ABI_VERSION_MAJOR) {
      die("echo.so did not answer ABI 2");
    }
    for (std::size_t i = 0; i < plugin->model_count; ++i) {
      if (std::string_view(plugin->models[i]->id) == "echo") model = plugin->models[i];
    }
    if (model == nullptr || model->execute == nullptr || model->execute_with_key == nullptr) {
      die("echo.so has no keyed 'echo' model");
    }
  }
};

// legacy-echo.so (ABI v1), loaded the same way.
struct DirectLegacyEcho {
  boost::dll::shared_library library;
  const llmrt_v1_model* model = nullptr;

  explicit DirectLegacyEcho(const fs::path& dir) : library(dir / "legacy-echo.so", kLoadMode) {
    const llmrt_v1_host_info host = {sizeof(llmrt_v1_host_info), LLMRT_ABI_VERSION, "llmrt_bench",
                                     "0", ""};
    std::uint32_t answered = 0;
    const auto* plugin = static_cast<const llmrt_v1_plugin*>(
        library.get<const void*(const llmrt_v1_host_info*, std::uint32_t*)>(LLMRT_ENTRY_SYMBOL)(
            &host, &answered));
    if (plugin == nullptr || answered != LLMRT_V1_ABI_VERSION || plugin->model_count != 1) {
      die("legacy-echo.so did not answer ABI 1.0 with one model");
    }
    model = plugin->models[0];
  }
};

// ---- The runtime, isolated from the user's environment and ~/.config ---------------------------

llmrt::RuntimeConfig isolated_config(const fs::path& user_dir, bool cache_keys_file = true) {
  llmrt::RuntimeConfig config;
  config.keys_file_caching.enabled = cache_keys_file;
  config.load_bundled_plugins = false;
  config.use_plugin_path_env = false;
  config.load_user_plugins = false;
  config.plugin_paths = {LLMRT_BUNDLED_PLUGIN_DIR};
  config.user_dir = user_dir;
  config.environment = [](const char*) -> const char* { return nullptr; };
  return config;
}

fs::path with_keys_file(const fs::path& dir) {
  llmrt::KeysFile keys(dir / "keys.json");
  keys.set("echo", llmrt::Key(kStoredKey));  // created 0600, as `llmrt keys set` does
  return dir;
}

fs::path made(const fs::path& dir) {
  fs::create_directories(dir);
  return dir;
}

struct Fixture {
  DirectEcho direct{LLMRT_BUNDLED_PLUGIN_DIR};
  DirectLegacyEcho direct_legacy{LLMRT_BUNDLED_PLUGIN_DIR};

  llmrt::test::TempDir empty_dir;  // a user directory without keys.json
  llmrt::test::TempDir keyed_dir;  // a user directory whose keys.json has an "echo" entry

  // An empty user directory as deep as a real one: <temp>/.config/llmrt/keys.json has as many path
  // components as /home/ann/.config/llmrt/keys.json, and the kernel walks each one on every lstat.
  fs::path home_depth_dir = made(empty_dir.path() / ".config" / "llmrt");

  llmrt::Runtime runtime{isolated_config(empty_dir.path())};
  llmrt::Runtime keyed_runtime{isolated_config(with_keys_file(keyed_dir.path()))};
  llmrt::Runtime home_depth_runtime{isolated_config(home_depth_dir)};
  // The same two without the keys file cache: what every call did before issue 13.
  llmrt::Runtime uncached_runtime{isolated_config(empty_dir.path(), false)};
  llmrt::Runtime uncached_keyed_runtime{isolated_config(keyed_dir.path(), false)};

  llmrt::Model echo = runtime.get_model("echo");
  llmrt::Model legacy_echo = runtime.get_model("legacy-echo");
  llmrt::Model file_keyed_echo = keyed_runtime.get_model("echo");
  llmrt::Model home_depth_echo = home_depth_runtime.get_model("echo");
  llmrt::Model uncached_echo = uncached_runtime.get_model("echo");
  llmrt::Model uncached_file_keyed_echo = uncached_keyed_runtime.get_model("echo");
  llmrt::Model instance_keyed_echo =
      runtime.create_model("echo", llmrt::ModelSettings{.key = llmrt::Key(kInstanceKey)});
};

Fixture* g_fixture = nullptr;

// ---- One call of each kind (shared by the benchmarks and by the sanity checks) ------------------

const llmrt_prompt kDirectPrompt = {sizeof(llmrt_prompt),
                                    LLMRT_PROMPT_STREAM,
                                    {kPrompt.data(), kPrompt.size()},
                                    {kNoOptions.data(), kNoOptions.size()}};

void direct_call(StringSink& out) {
  out.text.clear();
  const llmrt_sink sink = out.sink();
  const llmrt_model* model = g_fixture->direct.model;
  benchmark::DoNotOptimize(model->execute(model, &kDirectPrompt, &sink));
}

void direct_call_with_key(StringSink& out) {
  out.text.clear();
  const llmrt_sink sink = out.sink();
  const std::string_view key = kPerCallKey;
  const llmrt_credential credential = {sizeof(llmrt_credential), {key.data(), key.size()}};
  const llmrt_model* model = g_fixture->direct.model;
  benchmark::DoNotOptimize(model->execute_with_key(model, &kDirectPrompt, &credential, &sink));
}

void direct_legacy_call(StringSink& out) {
  out.text.clear();
  const llmrt_v1_sink sink = out.v1_sink();
  const llmrt_v1_prompt prompt = {sizeof(llmrt_v1_prompt),
                                  LLMRT_V1_PROMPT_STREAM,
                                  {kPrompt.data(), kPrompt.size()},
                                  {kNoOptions.data(), kNoOptions.size()}};
  const llmrt_v1_model* model = g_fixture->direct_legacy.model;
  benchmark::DoNotOptimize(model->execute(model, &prompt, &sink));
}

void runtime_prompt() {
  benchmark::DoNotOptimize(g_fixture->echo.prompt(kPrompt));
}

// ---- Reading aid: the floor each runtime benchmark is compared with
// ------------------------------

// Wall time per call of every run of each benchmark in this process that lasted at least
// kMinRecorded (the short trial runs that size the iteration count are too noisy), by name. A
// reference is the median of its runs, so that with --benchmark_repetitions it is compared like the
// reported medians. Nothing is calibrated behind the benchmarks' back (that would also pollute a
// profile of one benchmark): a comparison counter appears only when its reference benchmark ran
// earlier in the same process, which it does in a full run (references are registered first).
constexpr std::chrono::milliseconds kMinRecorded{10};
std::map<std::string, std::vector<double>> g_measured_ns;

std::optional<double> reference_ns(const std::string& name) {
  const auto it = g_measured_ns.find(name);
  if (it == g_measured_ns.end() || it->second.empty()) return std::nullopt;
  std::vector<double> runs = it->second;
  std::sort(runs.begin(), runs.end());
  const std::size_t mid = runs.size() / 2;
  return runs.size() % 2 == 1 ? runs[mid] : (runs[mid - 1] + runs[mid]) / 2;
}

// Times the benchmark loop `body` (wall clock) and records the result under the benchmark's name.
template <class Body>
double timed_loop(benchmark::State& state, const std::string& name, Body body) {
  const auto start = Clock::now();
  for (auto _ : state) body();
  const auto elapsed = Clock::now() - start;
  const double ns = std::chrono::duration<double, std::nano>(elapsed).count() /
                    static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  if (elapsed >= kMinRecorded) g_measured_ns[name].push_back(ns);
  state.counters["ns_per_call"] = ns;
  return ns;
}

void report_overhead(benchmark::State& state, double ns, const std::string& floor_name) {
  state.SetLabel("floor: " + floor_name);
  if (const std::optional<double> floor = reference_ns(floor_name)) {
    state.counters["floor_ns"] = *floor;
    state.counters["overhead_ns"] = ns - *floor;
  }
}

void report_vs_prompt(benchmark::State& state, double ns) {
  if (const std::optional<double> prompt = reference_ns("BM_RuntimePrompt")) {
    state.counters["vs_prompt_pct"] = 100.0 * (ns - *prompt) / *prompt;
  }
}

// ---- Floors: the plugins called directly
// ---------------------------------------------------------

// The floor: echo's execute called through its pointer with "Hello" and "{}".
void BM_DirectPluginCall(benchmark::State& state) {
  StringSink out;
  timed_loop(state, "BM_DirectPluginCall", [&] { direct_call(out); });
}
BENCHMARK(BM_DirectPluginCall);

// The keyed floor: execute_with_key with a credential (echo then also hashes the key and writes a
// second chunk, `key-sha256: ...`, so this is the floor for every call that sends a key).
void BM_DirectPluginCallWithKey(benchmark::State& state) {
  StringSink out;
  timed_loop(state, "BM_DirectPluginCallWithKey", [&] { direct_call_with_key(out); });
}
BENCHMARK(BM_DirectPluginCallWithKey);

// What "{}" costs inside echo (it parses any non-empty options text with Boost.JSON): the same
// direct call with an empty options text. Not a floor; it explains part of the plugin's own cost.
void BM_DirectPluginCallEmptyOptions(benchmark::State& state) {
  StringSink out;
  const llmrt_prompt prompt = {
      sizeof(llmrt_prompt), LLMRT_PROMPT_STREAM, {kPrompt.data(), kPrompt.size()}, {"", 0}};
  const llmrt_model* model = g_fixture->direct.model;
  timed_loop(state, "BM_DirectPluginCallEmptyOptions", [&] {
    out.text.clear();
    const llmrt_sink sink = out.sink();
    benchmark::DoNotOptimize(model->execute(model, &prompt, &sink));
  });
}
BENCHMARK(BM_DirectPluginCallEmptyOptions);

// The v1 floor: legacy-echo's execute.
void BM_DirectLegacyV1Call(benchmark::State& state) {
  StringSink out;
  timed_loop(state, "BM_DirectLegacyV1Call", [&] { direct_legacy_call(out); });
}
BENCHMARK(BM_DirectLegacyV1Call);

// ---- Through the runtime ------------------------------------------------------------------------

// model.prompt("Hello") on the shared echo model, no key anywhere: resolution falls through to the
// keys file, which does not exist (the cache remembers that: no system call per call).
void BM_RuntimePrompt(benchmark::State& state) {
  const double ns = timed_loop(state, "BM_RuntimePrompt", runtime_prompt);
  report_overhead(state, ns, "BM_DirectPluginCall");
}
BENCHMARK(BM_RuntimePrompt);

// BM_RuntimePrompt with the user directory as deep as ~/.config/llmrt: the lstat walks more path.
void BM_RuntimePromptHomeDepthUserDir(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->home_depth_echo;
  const double ns = timed_loop(state, "BM_RuntimePromptHomeDepthUserDir",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectPluginCall");
}
BENCHMARK(BM_RuntimePromptHomeDepthUserDir);

// model.prompt("Hello", {.key = Key(...)}): constructing (and wiping) the Key is part of the cost.
void BM_RuntimePromptWithPerCallKey(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->echo;
  const double ns = timed_loop(state, "BM_RuntimePromptWithPerCallKey", [&] {
    benchmark::DoNotOptimize(model.prompt(kPrompt, {.key = llmrt::Key(kPerCallKey)}));
  });
  report_overhead(state, ns, "BM_DirectPluginCallWithKey");
  report_vs_prompt(state, ns);
}
BENCHMARK(BM_RuntimePromptWithPerCallKey);

// A model instance with its own key (create_model): a key without constructing one per call and
// without the keys file.
void BM_RuntimePromptInstanceKey(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->instance_keyed_echo;
  const double ns = timed_loop(state, "BM_RuntimePromptInstanceKey",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectPluginCallWithKey");
  report_vs_prompt(state, ns);
}
BENCHMARK(BM_RuntimePromptInstanceKey);

// legacy-echo (ABI v1) through the runtime: no key resolution (v1 takes no keys), and the runtime
// serializes calls because a v1 model is never reentrant.
void BM_RuntimePromptLegacyV1(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->legacy_echo;
  const double ns = timed_loop(state, "BM_RuntimePromptLegacyV1",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectLegacyV1Call");
}
BENCHMARK(BM_RuntimePromptLegacyV1);

// prompt_async + get: the same call plus the hop to a pool thread and back.
void BM_RuntimePromptAsync(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->echo;
  const double ns = timed_loop(state, "BM_RuntimePromptAsync", [&] {
    benchmark::DoNotOptimize(model.prompt_async(std::string(kPrompt)).get());
  });
  report_overhead(state, ns, "BM_DirectPluginCall");
}
BENCHMARK(BM_RuntimePromptAsync)->UseRealTime();

// The same with RuntimeConfig::async_idle_spin off: the worker sleeps as soon as it is idle and
// get() sleeps at once, so every call costs a futex wake each way (the runtime before the spin).
void BM_RuntimePromptAsyncNoSpin(benchmark::State& state) {
  llmrt::RuntimeConfig config = isolated_config(g_fixture->empty_dir.path());
  config.async_idle_spin.limit = std::chrono::microseconds(0);
  llmrt::Runtime runtime(std::move(config));
  const llmrt::Model model = runtime.get_model("echo");
  for (auto _ : state) benchmark::DoNotOptimize(model.prompt_async(std::string(kPrompt)).get());
}
BENCHMARK(BM_RuntimePromptAsyncNoSpin)->UseRealTime();

// 10,000 prompt_async calls in flight on a pool of 2 workers (this machine has 2 cores), then every
// get(): calls_per_s is to be compared with 1e9 / BM_RuntimePrompt's ns (one thread, synchronous).
constexpr int kInFlight = 10000;
// Argument: the idle spin in µs (20 is the default; 0 turns it off).
void BM_RuntimePromptAsyncInFlight(benchmark::State& state) {
  llmrt::RuntimeConfig config = isolated_config(g_fixture->empty_dir.path());
  config.async_threads = 2;
  config.async_idle_spin.limit = std::chrono::microseconds(state.range(0));
  config.async_queue_limit = kInFlight;
  llmrt::Runtime runtime(std::move(config));
  const llmrt::Model model = runtime.get_model("echo");
  std::vector<llmrt::AsyncResponse> calls;
  calls.reserve(kInFlight);
  for (auto _ : state) {
    calls.clear();
    for (int i = 0; i < kInFlight; ++i) calls.push_back(model.prompt_async(std::string(kPrompt)));
    for (llmrt::AsyncResponse& call : calls) benchmark::DoNotOptimize(call.get());
  }
  state.counters["calls_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kInFlight, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RuntimePromptAsyncInFlight)
    ->ArgName("spin_us")
    ->Arg(20)
    ->Arg(0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// No per-call key, no instance key, no environment variable: the key comes from keys.json, parsed
// once and kept by the runtime's keys file cache while the file is unchanged.
void BM_KeysFileLookup(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->file_keyed_echo;
  const double ns = timed_loop(state, "BM_KeysFileLookup",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectPluginCallWithKey");
  report_vs_prompt(state, ns);
}
BENCHMARK(BM_KeysFileLookup);

// BM_KeysFileLookup with keys_file_caching.enabled = false: keys.json is opened, checked and
// parsed on every call, as before issue 13.
void BM_KeysFileLookupUncached(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->uncached_file_keyed_echo;
  const double ns = timed_loop(state, "BM_KeysFileLookupUncached",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectPluginCallWithKey");
  report_vs_prompt(state, ns);
}
BENCHMARK(BM_KeysFileLookupUncached);

// BM_RuntimePrompt with keys_file_caching.enabled = false: one lstat of the missing keys.json per
// call, as before issue 13.
void BM_RuntimePromptUncachedKeysFile(benchmark::State& state) {
  const llmrt::Model& model = g_fixture->uncached_echo;
  const double ns = timed_loop(state, "BM_RuntimePromptUncachedKeysFile",
                               [&] { benchmark::DoNotOptimize(model.prompt(kPrompt)); });
  report_overhead(state, ns, "BM_DirectPluginCall");
}
BENCHMARK(BM_RuntimePromptUncachedKeysFile);

// ---- Component costs: pieces of the runtime's per-call work, timed alone ------------------------

// The one system call the no-key path makes: lstat of a keys.json that does not exist (the key
// resolution fell through to the keys file, which was read on every call before its cache).
void lstat_loop(benchmark::State& state, const std::string& name, const fs::path& dir) {
  const std::string path = (dir / "keys.json").string();
  timed_loop(state, name, [&] {
    struct stat status {};
    benchmark::DoNotOptimize(::lstat(path.c_str(), &status));
  });
}

void BM_CostLstatMissingKeysFile(benchmark::State& state) {
  lstat_loop(state, "BM_CostLstatMissingKeysFile", g_fixture->empty_dir.path());
}
BENCHMARK(BM_CostLstatMissingKeysFile);

// The same as deep as ~/.config/llmrt/keys.json.
void BM_CostLstatMissingKeysFileHomeDepth(benchmark::State& state) {
  lstat_loop(state, "BM_CostLstatMissingKeysFileHomeDepth", g_fixture->home_depth_dir);
}
BENCHMARK(BM_CostLstatMissingKeysFileHomeDepth);

// Key::fingerprint(), which dispatch computes for every call that sends a key (it goes into
// Response::key_fingerprint): SHA-256 through OpenSSL's EVP_Digest, then hex.
void BM_CostKeyFingerprint(benchmark::State& state) {
  const llmrt::Key key(kPerCallKey);
  timed_loop(state, "BM_CostKeyFingerprint", [&] { benchmark::DoNotOptimize(key.fingerprint()); });
}
BENCHMARK(BM_CostKeyFingerprint);

// What a per-call key costs before the plugin sees it, fingerprint aside: the caller constructs the
// Key (heap copy), resolve_key validates it (building its "what" text) and moves it, and it is
// wiped (OPENSSL_cleanse) and freed at the end of the call.
void BM_CostPerCallKeyLifetime(benchmark::State& state) {
  timed_loop(state, "BM_CostPerCallKeyLifetime", [&] {
    llmrt::Key key(kPerCallKey);
    llmrt::validate_key(key.reveal(), "the key given for this call");
    llmrt::Key moved(std::move(key));
    benchmark::DoNotOptimize(moved.reveal().data());
  });
}
BENCHMARK(BM_CostPerCallKeyLifetime);

// Fails loudly if a benchmark would not measure the path it names.
void check_paths(Fixture& f) {
  auto expect = [](bool ok, const char* what) {
    if (!ok) die(std::string("sanity check failed: ") + what);
  };
  StringSink out;
  direct_call(out);
  expect(out.text == kPrompt, "direct echo answers the prompt");
  direct_call_with_key(out);
  expect(out.text.starts_with("Hello\nkey-sha256: "), "direct keyed echo reports a key");
  direct_legacy_call(out);
  expect(out.text == kPrompt, "direct legacy-echo answers the prompt");

  const llmrt::Response plain = f.echo.prompt(kPrompt);
  expect(plain.text == kPrompt && plain.key_source == llmrt::KeySource::none, "runtime, no key");
  const llmrt::Response deep = f.home_depth_echo.prompt(kPrompt);
  expect(deep.text == kPrompt && deep.key_source == llmrt::KeySource::none, "runtime, deep dir");
  const llmrt::Response per_call = f.echo.prompt(kPrompt, {.key = llmrt::Key(kPerCallKey)});
  expect(per_call.key_source == llmrt::KeySource::per_call, "runtime, per-call key");
  const llmrt::Response instance = f.instance_keyed_echo.prompt(kPrompt);
  expect(instance.key_source == llmrt::KeySource::instance, "runtime, instance key");
  const llmrt::Response legacy = f.legacy_echo.prompt(kPrompt);
  expect(legacy.text == kPrompt && legacy.warnings.empty(), "runtime, legacy-echo");
  const llmrt::Response async = f.echo.prompt_async(std::string(kPrompt)).get();
  expect(async.text == kPrompt, "runtime, async");
  const llmrt::Response stored = f.file_keyed_echo.prompt(kPrompt);
  expect(stored.key_source == llmrt::KeySource::keys_file, "runtime, keys file");
  expect(f.uncached_file_keyed_echo.prompt(kPrompt).key_fingerprint == stored.key_fingerprint,
         "runtime, keys file without its cache");
  expect(f.uncached_echo.prompt(kPrompt).key_source == llmrt::KeySource::none,
         "runtime, no key, without the keys file cache");
  expect(per_call.text.substr(0, per_call.text.find("key-")) ==
             stored.text.substr(0, stored.text.find("key-")),
         "keyed answers have the same shape");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    auto fixture = std::make_unique<Fixture>();
    g_fixture = fixture.get();
    check_paths(*fixture);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    g_fixture = nullptr;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
  return 0;
}
