// Where the user's llmrt files live: $LLMRT_USER_PATH, else $XDG_CONFIG_HOME/llmrt, else
// ~/.config/llmrt. An empty variable counts as unset.
#include <llmrt/runtime.hpp>

#include <cstdlib>

namespace llmrt {
namespace {

const char* non_empty(const EnvironmentLookup& environment, const char* name) {
  const char* value = environment ? environment(name) : std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : nullptr;
}

}  // namespace

std::filesystem::path default_user_dir(const EnvironmentLookup& environment) {
  if (const char* explicit_dir = non_empty(environment, "LLMRT_USER_PATH")) return explicit_dir;
  if (const char* xdg = non_empty(environment, "XDG_CONFIG_HOME")) {
    return std::filesystem::path(xdg) / "llmrt";
  }
  if (const char* home = non_empty(environment, "HOME")) {
    return std::filesystem::path(home) / ".config" / "llmrt";
  }
  throw Error(ErrorCode::io,
              "cannot find the user directory: set LLMRT_USER_PATH, XDG_CONFIG_HOME or HOME");
}

}  // namespace llmrt
