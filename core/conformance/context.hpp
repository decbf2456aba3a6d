// What a check body gets: the options, a random generator seeded for this check, the plugin as the
// raw ABI shows it (plugin_view.hpp) and as the host's loader loads it (host_call.hpp), and a
// helper that turns per-model findings into one verdict.
#ifndef LLMRT_CONFORMANCE_CONTEXT_HPP
#define LLMRT_CONFORMANCE_CONTEXT_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "host_call.hpp"
#include "options.hpp"
#include "plugin_library.hpp"
#include "plugin_view.hpp"

namespace llmrt::conformance {

// The plugin loaded with dlopen and negotiated with the current host version (2.0).
struct RawSubject {
  std::unique_ptr<RawLibrary> library;
  Negotiation negotiation;
  std::optional<PluginView> view;  // set when the entry returned a plugin struct
};

class Context {
 public:
  Context(const Options& options, std::uint64_t seed);

  const Options& options() const { return options_; }
  std::mt19937_64& random() { return random_; }

  // `count` random words from a fixed vocabulary, separated by single spaces.
  std::string words(std::size_t count);

  // Loads the plugin raw (once per context). Throws std::runtime_error if dlopen fails.
  RawSubject& raw();

  // The models under test as the host loads them, limited by --model. Loads once per context.
  // Throws PluginLoadError when the host refuses the plugin.
  const std::vector<Target>& targets();

  // The host's identity for load_plugin: the current ABI, the tool's user_dir.
  HostIdentity host_identity() const;

 private:
  const Options& options_;
  std::mt19937_64 random_;
  std::optional<RawSubject> raw_;
  std::optional<LoadedPlugin> loaded_;
  std::vector<Target> targets_;
};

// Collects what a check found for each model and makes one verdict of it: FAIL if any model failed
// (one line per failure), else PASS if any model passed, else SKIP with the reasons.
class Verdicts {
 public:
  void fail(const std::string& who, const std::string& why);
  void skip(const std::string& who, const std::string& why);
  void pass();
  bool failed() const { return !failures_.empty(); }
  Result result() const;

 private:
  std::vector<std::string> failures_;
  std::vector<std::string> skips_;
  std::size_t passes_ = 0;
};

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_CONTEXT_HPP
