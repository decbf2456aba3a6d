// throwing: models whose execute throws. The SDK boundary turns every exception into a status and a
// message, so the host sees a clean failure (llmrt::Error with code plugin_failed) and keeps
// serving afterwards.
//  - "throws-std":   throws std::runtime_error("boom from plugin");
//  - "throws-other": throws an int, which is not a std::exception.
#include <llmrt/sdk.hpp>

#include <stdexcept>

namespace {

struct ThrowsStd {
  static constexpr llmrt::sdk::ModelInfo info{.id = "throws-std", .reentrant = true};

  void execute(const llmrt::sdk::Prompt&, llmrt::sdk::Output&) {
    throw std::runtime_error("boom from plugin");
  }
};

struct ThrowsOther {
  static constexpr llmrt::sdk::ModelInfo info{.id = "throws-other", .reentrant = true};

  void execute(const llmrt::sdk::Prompt&, llmrt::sdk::Output&) { throw 42; }
};

}  // namespace

LLMRT_PLUGIN("throwing", "1.0.0", ThrowsStd, ThrowsOther)
