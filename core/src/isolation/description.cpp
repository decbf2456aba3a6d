#include "description.hpp"

#include <boost/json.hpp>

#include "protocol.hpp"

namespace llmrt::isolation {

namespace json = boost::json;

json::object to_json_object(const PluginDescription& description) {
  json::object plugin{{"name", description.plugin.name},
                      {"version", description.plugin.version},
                      {"path", description.plugin.path},
                      {"abi", description.plugin.abi_version}};
  json::array models;
  for (const ModelInfo& model : description.models) {
    models.push_back(json::object{{"id", model.id},
                                  {"display_name", model.display_name},
                                  {"abi", model.abi_version},
                                  {"key_name", model.key_name},
                                  {"key_env_var", model.key_env_var},
                                  {"accepts_key", model.accepts_key},
                                  {"requires_key", model.requires_key},
                                  {"streaming", model.streaming},
                                  {"reentrant", model.reentrant},
                                  {"deterministic", model.deterministic},
                                  {"conversation", model.conversation},
                                  {"options_schema", model.options_schema_json}});
  }
  return json::object{{"plugin", std::move(plugin)}, {"models", std::move(models)}};
}

std::string to_json(const PluginDescription& description) {
  return json::serialize(to_json_object(description));
}

PluginDescription description_from_object(const json::object& root) {
  const json::object& plugin = root.at("plugin").as_object();
  PluginDescription description;
  description.plugin.name = json::value_to<std::string>(plugin.at("name"));
  description.plugin.version = json::value_to<std::string>(plugin.at("version"));
  description.plugin.path = json::value_to<std::string>(plugin.at("path"));
  description.plugin.abi_version = json::value_to<std::uint32_t>(plugin.at("abi"));
  for (const json::value& entry : root.at("models").as_array()) {
    const json::object& model = entry.as_object();
    ModelInfo info;
    info.id = json::value_to<std::string>(model.at("id"));
    info.display_name = json::value_to<std::string>(model.at("display_name"));
    info.plugin_name = description.plugin.name;
    info.plugin_version = description.plugin.version;
    info.plugin_path = description.plugin.path;
    info.abi_version = json::value_to<std::uint32_t>(model.at("abi"));
    info.key_name = json::value_to<std::string>(model.at("key_name"));
    info.key_env_var = json::value_to<std::string>(model.at("key_env_var"));
    info.accepts_key = model.at("accepts_key").as_bool();
    info.requires_key = model.at("requires_key").as_bool();
    info.streaming = model.at("streaming").as_bool();
    info.reentrant = model.at("reentrant").as_bool();
    info.deterministic = model.at("deterministic").as_bool();
    info.conversation = model.at("conversation").as_bool();
    info.options_schema_json = json::value_to<std::string>(model.at("options_schema"));
    description.plugin.model_ids.push_back(info.id);
    description.models.push_back(std::move(info));
  }
  return description;
}

PluginDescription description_from_json(std::string_view text) {
  try {
    return description_from_object(json::parse(text).as_object());
  } catch (const std::exception& error) {
    throw ProtocolError(std::string("the worker's description of its plugin is malformed: ") +
                        error.what());
  }
}

}  // namespace llmrt::isolation
