// What a worker tells the host about the plugin it loaded (the describe frame's JSON): the plugin
// and every model's metadata, copied once at load so that listing models and checking options
// never need a round trip. Used by both sides.
#ifndef LLMRT_ISOLATION_DESCRIPTION_HPP
#define LLMRT_ISOLATION_DESCRIPTION_HPP

#include <llmrt/model.hpp>
#include <llmrt/runtime.hpp>

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::isolation {

struct PluginDescription {
  PluginInfo plugin;
  std::vector<ModelInfo> models;  // in the plugin's order: a call names a model by its index
};

std::string to_json(const PluginDescription& description);
// Throws ProtocolError when `json` is not a description.
PluginDescription description_from_json(std::string_view json);

// The same, as a JSON object: the plugin metadata cache keeps descriptions in this form.
// description_from_object throws std::exception (eg: a missing field) when `object` is not one.
boost::json::object to_json_object(const PluginDescription& description);
PluginDescription description_from_object(const boost::json::object& object);

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_DESCRIPTION_HPP
