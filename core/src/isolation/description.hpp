// What a worker tells the host about the plugin it loaded (the describe frame's JSON): the plugin
// and every model's metadata, copied once at load so that listing models and checking options
// never need a round trip. Used by both sides.
#ifndef LLMRT_ISOLATION_DESCRIPTION_HPP
#define LLMRT_ISOLATION_DESCRIPTION_HPP

#include <llmrt/model.hpp>
#include <llmrt/runtime.hpp>

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

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_DESCRIPTION_HPP
