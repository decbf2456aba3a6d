// The plugin metadata cache as a crash, a full disk or another program may leave it: read by
// PluginCache, which promises never to throw and never to trust what it cannot use. The entry the
// seeds hold (and one no index holds) is looked up, and its description read.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_check.hpp"
#include "plugin_cache/plugin_cache.hpp"

namespace {

// One private directory per process (the cache's checks demand 0700, the file 0600), removed at
// exit. The path is never destroyed: the exit handler still reads it.
const std::filesystem::path& cache_path() {
  static const std::filesystem::path* const path = [] {
    char pattern[] = "/tmp/llmrt-fuzz-cache-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    if (dir == nullptr) std::abort();
    const auto* made = new std::filesystem::path(std::filesystem::path(dir) / "plugins-v2.json");
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(cache_path().parent_path(), ignored);
    });
    return made;
  }();
  return *path;
}

void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (std::size_t written = 0; written < size;) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) std::abort();
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::plugin_cache;
  const std::filesystem::path& path = cache_path();
  write_file(path, data, size);
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
