// The plugin cache file as tests edit it (to forge or damage it): its first line, the index, as
// JSON, and the descriptions after it as they are. Rewriting the index keeps the descriptions'
// offsets valid, since they count from the start of the descriptions.
#ifndef LLMRT_TESTS_SUPPORT_PLUGIN_CACHE_FILE_HPP
#define LLMRT_TESTS_SUPPORT_PLUGIN_CACHE_FILE_HPP

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace llmrt::test {

struct PluginCacheFile {
  boost::json::object index;
  std::string descriptions;

  static PluginCacheFile read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::size_t newline = text.find('\n');
    if (newline == std::string::npos) throw std::runtime_error("no index line in " + path.string());
    return {boost::json::parse(text.substr(0, newline)).as_object(), text.substr(newline + 1)};
  }

  // Each plugin's index entry: {"dev", "ino", "size", "mtime_ns", "user_dir", and "models" (ids)
  // and "description" ([offset, length]), or "error"}.
  boost::json::object& plugins() { return index.at("plugins").as_object(); }

  // Writes it back in place (the file keeps its inode and mode).
  void write(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << boost::json::serialize(index) << '\n' << descriptions;
  }
};

}  // namespace llmrt::test

#endif  // LLMRT_TESTS_SUPPORT_PLUGIN_CACHE_FILE_HPP
