// Small shared helpers for the test suite: temporary directories and a runtime that sees only the
// plugins a test asks for, never the user's environment or ~/.config.
#ifndef LLMRT_TEST_SUPPORT_HPP
#define LLMRT_TEST_SUPPORT_HPP

#include <llmrt/runtime.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>

namespace llmrt::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "llmrt-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An environment a test controls: only the variables it sets exist.
class FakeEnvironment {
 public:
  void set(const std::string& name, const std::string& value) { values_[name] = value; }
  void unset(const std::string& name) { values_.erase(name); }
  EnvironmentLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = values_.find(name);
      return it == values_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> values_;
};

inline const std::filesystem::path kBundledPluginDir = LLMRT_BUNDLED_PLUGIN_DIR;
inline const std::filesystem::path kTestPluginDir = LLMRT_TEST_PLUGIN_DIR;

// The isolation mode a suite runs in: `process` when LLMRT_TEST_ISOLATION=process (ctest registers
// several suites a second time so, prefixed "process."; see tests/CMakeLists.txt), else in_process.
inline IsolationMode test_isolation_mode() {
  const char* mode = std::getenv("LLMRT_TEST_ISOLATION");
  return mode != nullptr && std::string(mode) == "process" ? IsolationMode::process
                                                           : IsolationMode::in_process;
}

// A runtime with the bundled plugins only, the given user directory, and the given environment,
// its plugins in the isolation mode of test_isolation_mode().
inline RuntimeConfig isolated_config(const std::filesystem::path& user_dir,
                                     const FakeEnvironment& environment) {
  RuntimeConfig config;
  config.load_bundled_plugins = false;
  config.use_plugin_path_env = false;
  config.load_user_plugins = false;
  config.plugin_paths = {kBundledPluginDir};
  config.user_dir = user_dir;
  config.environment = environment.lookup();
  config.isolation.mode = test_isolation_mode();
  // A worker runs one call at a time, and some suites hold 8 calls in flight at once (each
  // blocked in on_chunk until all have started): give each plugin enough workers for that.
  config.isolation.workers_per_plugin = 8;
  return config;
}

}  // namespace llmrt::test

#endif  // LLMRT_TEST_SUPPORT_HPP
