// llmrt models: what the loaded plugins offer, and the default model.
#include "cli_output.hpp"
#include "commands.hpp"
#include "isolation_options.hpp"

#include <llmrt/runtime.hpp>

#include <boost/json/array.hpp>

namespace llmrt::cli {

int run_models(const ModelsArgs& args) {
  const Runtime runtime(cli_runtime_config());
  print_load_errors(runtime.load_errors());
  const std::vector<ModelInfo> models = runtime.models();

  if (args.json) {
    boost::json::array list;
    for (const ModelInfo& model : models) list.push_back(model_json(model));
    print_json(list);
    return kExitOk;
  }

  std::vector<std::vector<std::string>> rows;
  for (const ModelInfo& model : models) {
    rows.push_back({model.id, model.plugin_name, abi_version_string(model.abi_version),
                    yes_no(model.accepts_key), or_dash(model.key_name), or_dash(model.key_env_var),
                    yes_no(model.streaming)});
  }
  print_table({"ID", "PLUGIN", "ABI", "ACCEPTS KEY", "KEY NAME", "ENV VAR", "STREAMING"}, rows);
  return kExitOk;
}

int run_models_default(const ModelsDefaultArgs& args) {
  const Runtime runtime(cli_runtime_config());
  print_load_errors(runtime.load_errors());
  if (args.model) {
    runtime.set_default_model_id(*args.model);
  } else {
    write_stdout(runtime.default_model_id() + "\n");
  }
  return kExitOk;
}

}  // namespace llmrt::cli
