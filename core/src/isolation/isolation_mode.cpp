#include <llmrt/isolation.hpp>

namespace llmrt {

std::string_view to_string(IsolationMode mode) noexcept {
  return mode == IsolationMode::process ? "process" : "in_process";
}

std::optional<IsolationMode> isolation_mode_from_string(std::string_view text) noexcept {
  if (text == "in_process") return IsolationMode::in_process;
  if (text == "process") return IsolationMode::process;
  return std::nullopt;
}

}  // namespace llmrt
