// Checks on the file itself, before any of its code runs: a shared object exporting the entry
// point, exporting nothing else, and loadable with RTLD_NOW.
#include <llmrt/plugin.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "context.hpp"
#include "plugin_library.hpp"

namespace llmrt::conformance {
namespace {

// Names every shared object defines that say nothing about the plugin.
const std::set<std::string, std::less<>> kStandardSymbols = {"_init",
                                                             "_fini",
                                                             "_edata",
                                                             "_end",
                                                             "__bss_start",
                                                             "_DYNAMIC",
                                                             "_GLOBAL_OFFSET_TABLE_",
                                                             "__dso_handle",
                                                             "__data_start",
                                                             "data_start",
                                                             "_IO_stdin_used"};

std::string list(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    if (i > 0) text += ", ";
    text += names[i];
  }
  if (names.size() > max) text += ", ... (" + std::to_string(names.size() - max) + " more)";
  return text;
}

Result symbol_table(Context& ctx) {
  std::vector<std::string> symbols;
  try {
    symbols = exported_symbols(ctx.options().plugin);
  } catch (const PluginLoadError& error) {
    return Result::failed(error.what());
  }
  if (std::find(symbols.begin(), symbols.end(), LLMRT_ENTRY_SYMBOL) == symbols.end()) {
    return Result::failed("the file does not export " LLMRT_ENTRY_SYMBOL +
                          std::string(symbols.empty() ? " (it exports nothing)"
                                                      : " (it exports: " + list(symbols) + ")"));
  }
  return Result::passed();
}

Result exports_only_entry(Context& ctx) {
  std::vector<std::string> extra;
  for (const std::string& symbol : exported_symbols(ctx.options().plugin)) {
    if (symbol.starts_with("llmrt_") || kStandardSymbols.contains(symbol)) continue;
    extra.push_back(symbol);
  }
  if (!extra.empty()) {
    return Result::failed("besides " LLMRT_ENTRY_SYMBOL " it exports " +
                          std::to_string(extra.size()) + " symbol(s): " + list(extra));
  }
  return Result::passed();
}

Result rtld_now(Context& ctx) {
  try {
    RawLibrary library(ctx.options().plugin);
    if (library.entry() == nullptr) {
      return Result::failed("dlopen succeeded but dlsym(\"" LLMRT_ENTRY_SYMBOL "\") found nothing");
    }
  } catch (const std::runtime_error& error) {
    return Result::failed(std::string("dlopen(RTLD_NOW) refused it: ") + error.what());
  }
  return Result::passed();
}

}  // namespace

std::vector<Check> load_checks() {
  return {
      {"load.symbol_table",
       "the file is a shared object whose symbol table exports " LLMRT_ENTRY_SYMBOL,
       "build a shared object (CMake: llmrt_add_plugin, which makes a MODULE library) and export "
       "the entry point with C linkage: extern \"C\" LLMRT_EXPORT const llmrt_plugin* "
       "llmrt_plugin_entry(...), or use the SDK's LLMRT_PLUGIN macro",
       {},
       symbol_table},
      {"load.exports_only_entry",
       "the dynamic symbol table exports nothing but the llmrt entry symbol",
       "build with hidden visibility and export only the entry: llmrt_add_plugin does both (it "
       "links "
       "with cmake/llmrt_plugin.map); elsewhere use -fvisibility=hidden "
       "-fvisibility-inlines-hidden and -Wl,--version-script with 'global: llmrt_plugin_entry; "
       "local: *;'",
       {"load.symbol_table"},
       exports_only_entry},
      {"load.rtld_now",
       "dlopen with RTLD_NOW | RTLD_LOCAL succeeds (every symbol resolves at load)",
       "link with -Wl,--no-undefined (llmrt_add_plugin does) so that a missing symbol shows at "
       "link time, and link every library the plugin uses",
       {"load.symbol_table"},
       rtld_now},
  };
}

}  // namespace llmrt::conformance
