// The plugin metadata cache as a crash, a full disk or another program may leave it: read by
// PluginCache, which promises never to throw and never to trust what it cannot use. The entry the
// seeds hold (and one no index holds) is looked up, and its description read.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_files.hpp"
#include "plugin_cache/plugin_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::plugin_cache;
  const std::filesystem::path& path = llmrt::fuzz::private_file("plugins-v2.json");
  llmrt::fuzz::write_private_file(path, data, size);
  PluginCache cache(path);
  const std::string self = "/usr/lib/llmrt/plugins/echo.so";
  for (const std::string& plugin : {self, std::string("/nonexistent.so")}) {
    (void)cache.find(plugin, FileIdentity{1, 2, 3, 4}, "/home/u/.config/llmrt");
    (void)cache.description(plugin);
  }
  if (!cache.ignored_because().empty()) {
    LLMRT_FUZZ_CHECK(!cache.find(self, FileIdentity{1, 2, 3, 4}, "/u").has_value(),
                     "an ignored cache has no entry");
  }
  return 0;
}
