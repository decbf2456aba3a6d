#include "isolation_options.hpp"

#include <llmrt/error.hpp>

namespace llmrt::cli {
namespace {

IsolationArgs& stored() {
  static IsolationArgs args;
  return args;
}

IsolationMode parse_mode(const std::string& text, const std::string& where) {
  const std::optional<IsolationMode> mode = isolation_mode_from_string(text);
  if (!mode) {
    throw Error(ErrorCode::usage, "unknown isolation mode '" + text + "' in " + where +
                                      " (use in_process or process)");
  }
  return *mode;
}

}  // namespace

void set_isolation_args(IsolationArgs args) {
  stored() = std::move(args);
}

RuntimeConfig cli_runtime_config(IsolationMode default_mode, double default_call_timeout_seconds) {
  const IsolationArgs& args = stored();
  RuntimeConfig config;
  // A command uses a few models at most: list them from the plugin cache and load only the plugins
  // it calls (docs/cli.md#the-plugin-cache).
  config.plugin_loading = PluginLoading::lazy;
  IsolationConfig& isolation = config.isolation;
  isolation.mode = args.mode ? parse_mode(*args.mode, "--isolation") : default_mode;
  for (const std::string& item : args.per_plugin) {
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw Error(ErrorCode::usage,
                  "--plugin-isolation takes NAME=MODE, eg: openai=process; got '" + item + "'");
    }
    isolation.per_plugin[item.substr(0, equals)] =
        parse_mode(item.substr(equals + 1), "--plugin-isolation " + item);
  }
  isolation.workers_per_plugin = args.workers_per_plugin;
  const double timeout_seconds = args.call_timeout_seconds.value_or(
      default_mode == IsolationMode::process ? default_call_timeout_seconds : 0);
  isolation.call_timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(timeout_seconds * 1000));
  isolation.max_output_bytes = args.max_output_bytes;
  isolation.memory_limit = args.plugin_memory_limit;
  return config;
}

}  // namespace llmrt::cli
