// The docs' example outputs show the ABI version today's plugins report: every "abi: X.Y" line of
// `llmrt plugins inspect`, every "(plugin ABI X.Y)" line of `llmrt-conformance`, and the echo row
// of `llmrt models` must say the version plugin.h defines. Before, they still said 2.0 after 2.1.
#include <gtest/gtest.h>
#include <llmrt/plugin.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DocsAbiVersion, ExampleOutputsShowTheHeadersVersion) {
  const std::string header_version =
      std::to_string(LLMRT_ABI_VERSION_MAJOR) + "." + std::to_string(LLMRT_ABI_VERSION_MINOR);
  // Example output lines of today's plugins and tools (v1 plugins, eg: legacy-echo, are not in it).
  const std::vector<std::regex> patterns = {
      std::regex(R"(^abi: (\d+\.\d+)$)"),                                  // llmrt plugins inspect
      std::regex(R"(^llmrt-conformance \S+ \(plugin ABI (\d+\.\d+)\)$)"),  // its report
      std::regex(R"(^echo +echo +(\d+\.\d+) )"),                           // llmrt models
  };
  std::map<std::string, int> found;  // file -> lines checked
  const std::filesystem::path docs = std::filesystem::path(LLMRT_SOURCE_DIR) / "docs";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(docs)) {
    if (entry.path().extension() != ".md") continue;
    std::istringstream lines(read(entry.path()));
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      for (const std::regex& pattern : patterns) {
        std::smatch match;
        if (!std::regex_search(line, match, pattern)) continue;
        ++found[entry.path().filename().string()];
        EXPECT_EQ(match[1].str(), header_version)
            << entry.path() << ":" << number << ": " << line
            << " (refresh it from a real run of today's build)";
      }
    }
  }
  for (const char* file : {"cli.md", "plugin-authoring.md", "conformance.md"}) {
    EXPECT_GT(found[file], 0) << "no example ABI version found in " << file;
  }
}

}  // namespace
