// llmrt plugins: the loaded plugins and the ones that were refused; `inspect` looks at one file
// as the loader sees it.
#include "cli_output.hpp"
#include "commands.hpp"
#include "isolation_options.hpp"

#include <llmrt/runtime.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace llmrt::cli {

namespace {

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string joined;
  for (const std::string& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

boost::json::object plugin_json(const PluginInfo& plugin) {
  boost::json::object json;
  json["name"] = plugin.name;
  json["version"] = plugin.version;
  json["abi"] = abi_version_string(plugin.abi_version);
  json["path"] = plugin.path;
  boost::json::array models;
  for (const std::string& id : plugin.model_ids) models.push_back(boost::json::string(id));
  json["models"] = std::move(models);
  json["isolation"] = to_string(plugin.isolation);
  json["state"] = plugin.health.state;
  json["crashes"] = plugin.health.crashes;
  json["loaded"] = plugin.loaded;
  return json;
}

boost::json::object load_error_json(const LoadError& error) {
  boost::json::object json;
  json["path"] = error.path;
  json["kind"] = to_string(error.kind);
  json["message"] = error.message;
  return json;
}

// The one-line error for a file `plugins inspect` could not load.
std::string inspect_error_message(const LoadError& error) {
  return "cannot load plugin " + error.path + ": " + load_error_text(error) + " (" +
         std::string(to_string(error.kind)) + ")";
}

void print_inspection_text(const PluginInspection& inspection) {
  std::string text = "path: " + inspection.path + "\n";
  text += "exported symbols: " +
          (inspection.exported_symbols.empty() ? std::string("(none)")
                                               : join(inspection.exported_symbols, ", ")) +
          "\n";
  if (inspection.plugin) {
    const PluginInfo& plugin = *inspection.plugin;
    text += "plugin: " + plugin.name + " " + plugin.version + "\n";
    text += "abi: " + abi_version_string(plugin.abi_version) + "\n";
  }
  write_stdout(text);
  if (!inspection.models.empty()) {
    write_stdout("models:\n");
    std::vector<std::vector<std::string>> rows;
    for (const ModelInfo& model : inspection.models) {
      rows.push_back({"  " + model.id, or_dash(model.key_name), or_dash(model.key_env_var),
                      capability_list(model)});
    }
    print_table({"  ID", "KEY NAME", "ENV VAR", "CAPABILITIES"}, rows);
  }
}

void print_inspection_json(const PluginInspection& inspection) {
  boost::json::object json;
  json["path"] = inspection.path;
  boost::json::array symbols;
  for (const std::string& symbol : inspection.exported_symbols) {
    symbols.push_back(boost::json::string(symbol));
  }
  json["exported_symbols"] = std::move(symbols);
  json["plugin"] = inspection.plugin ? boost::json::value(plugin_json(*inspection.plugin))
                                     : boost::json::value(nullptr);
  boost::json::array models;
  for (const ModelInfo& model : inspection.models) models.push_back(model_json(model));
  json["models"] = std::move(models);
  json["error"] = inspection.error ? boost::json::value(load_error_json(*inspection.error))
                                   : boost::json::value(nullptr);
  print_json(json);
}

}  // namespace

int run_plugins(const PluginsArgs& args) {
  RuntimeConfig config = cli_runtime_config();
  config.refresh_plugin_cache = args.refresh;
  const Runtime runtime(std::move(config));
  const std::vector<LoadError> errors = runtime.load_errors();
  print_load_errors(errors);
  const std::vector<PluginInfo> plugins = runtime.plugins();

  if (args.json) {
    boost::json::object json;
    boost::json::array list;
    for (const PluginInfo& plugin : plugins) list.push_back(plugin_json(plugin));
    json["plugins"] = std::move(list);
    boost::json::array refused;
    for (const LoadError& error : errors) refused.push_back(load_error_json(error));
    json["errors"] = std::move(refused);
    json["files_loaded"] = runtime.stats().plugins_loaded;
    print_json(json);
    return kExitOk;
  }

  std::vector<std::vector<std::string>> rows;
  for (const PluginInfo& plugin : plugins) {
    rows.push_back({plugin.name, plugin.version, abi_version_string(plugin.abi_version),
                    std::string(to_string(plugin.isolation)), plugin.health.state, plugin.path,
                    join(plugin.model_ids, ",")});
  }
  print_table({"NAME", "VERSION", "ABI", "ISOLATION", "STATE", "PATH", "MODELS"}, rows);
  if (!errors.empty()) {
    write_stdout("\nnot loaded:\n");
    std::vector<std::vector<std::string>> error_rows;
    for (const LoadError& error : errors) {
      error_rows.push_back(
          {error.path, std::string(to_string(error.kind)), load_error_text(error)});
    }
    print_table({"PATH", "KIND", "MESSAGE"}, error_rows);
  }
  return kExitOk;
}

int run_plugins_inspect(const PluginsInspectArgs& args) {
  const PluginInspection inspection = Runtime::inspect(args.file);
  if (args.json) {
    print_inspection_json(inspection);
  } else {
    print_inspection_text(inspection);
  }
  if (inspection.error) {
    flush_stdout();
    print_error(inspect_error_message(*inspection.error));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace llmrt::cli
