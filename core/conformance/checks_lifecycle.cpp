// Load and unload, again and again, as a long-running host that reloads plugins does: nothing may
// crash and nothing may pile up per cycle (docs/abi.md, "Ownership and lifetime").
#include <unistd.h>

#include <fstream>
#include <string>

#include "context.hpp"
#include "isolation.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

constexpr int kCycles = 100;
constexpr int kBaselineCycle = 10;

// Sanitizers keep freed memory in quarantine and add shadow memory, so resident memory grows with
// every allocation there: the bound is wider for such builds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long kGrowthBoundBytes = 64L << 20;
#else
constexpr long kGrowthBoundBytes = 8L << 20;
#endif

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size_pages = 0;
  long resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * ::sysconf(_SC_PAGESIZE);
}

std::string mib(long bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

Result load_unload_100(Context& ctx) {
  const std::string text = ctx.words(4);
  long baseline = 0;
  for (int cycle = 1; cycle <= kCycles; ++cycle) {
    {
      LoadedPlugin loaded;
      try {
        note_activity("cycle " + std::to_string(cycle) + " of " + std::to_string(kCycles) +
                      ": loading the plugin with llmrt::load_plugin");
        loaded = load_plugin(ctx.options().plugin, ctx.host_identity());
      } catch (const PluginLoadError& error) {
        return Result::failed("cycle " + std::to_string(cycle) +
                              ": llmrt refused it: " + error.what());
      }
      for (const auto& binding : loaded.models) {
        if (ctx.options().model && binding->info().id != *ctx.options().model) continue;
        const Target target{binding};
        const CallRequest request{.text = text, .key = key_for_plain_use(target)};
        const CallResult result = call_model(target, request);
        if (auto breach = contract_breach(target, request, result)) {
          return Result::failed("cycle " + std::to_string(cycle) + ", " + target.name() + ": " +
                                *breach);
        }
      }
      note_activity("cycle " + std::to_string(cycle) + " of " + std::to_string(kCycles) +
                    ": unloading the plugin (dlclose; its static destructors run)");
    }  // the last reference to the library goes: dlclose
    note_activity({});
    if (cycle == kBaselineCycle) baseline = resident_bytes();
  }
  const long growth = resident_bytes() - baseline;
  if (growth > kGrowthBoundBytes) {
    return Result::failed("resident memory grew by " + mib(growth) + " between cycle " +
                          std::to_string(kBaselineCycle) + " and cycle " + std::to_string(kCycles) +
                          " (bound: " + mib(kGrowthBoundBytes) + ")");
  }
  return Result::passed();
}

}  // namespace

std::vector<Check> lifecycle_checks() {
  return {
      {"lifecycle.load_unload_100",
       "100 cycles of dlopen, entry, one call per model, dlclose: no crash, no memory growth",
       "release at unload what you acquire at load or in a call (static destructors run at "
       "dlclose); start no thread that outlives a call; keep descriptors static",
       {"load.host_accepts"},
       load_unload_100},
  };
}

}  // namespace llmrt::conformance
