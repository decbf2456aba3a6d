#include "plugin_view.hpp"

#include <dlfcn.h>
#include <llmrt/abi/plugin_v1.h>

#include <algorithm>
#include <stdexcept>

#include "isolation.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

// The v1 structs are the leading part of the v2 ones: the common fields have the same offsets.
static_assert(offsetof(llmrt_v1_model, execute) == offsetof(llmrt_model, execute));
static_assert(offsetof(llmrt_v1_plugin, get_extension) == offsetof(llmrt_plugin, get_extension));
static_assert(sizeof(llmrt_v1_plugin) == sizeof(llmrt_plugin));

bool covers(std::uint32_t struct_size, std::size_t offset, std::size_t size) {
  return offset + size <= struct_size;
}

#define LLMRT_COVERS(type, object, field) \
  covers((object)->struct_size, offsetof(type, field), sizeof((object)->field))

ModelView view_model(std::size_t index, const llmrt_model* model, unsigned major) {
  ModelView view;
  view.index = index;
  view.address = model;
  view.struct_size = model->struct_size;
  if (LLMRT_COVERS(llmrt_model, model, id)) view.id = model->id;
  if (LLMRT_COVERS(llmrt_model, model, display_name)) view.display_name = model->display_name;
  if (LLMRT_COVERS(llmrt_model, model, options_schema_json)) {
    view.options_schema_json = model->options_schema_json;
  }
  if (LLMRT_COVERS(llmrt_model, model, execute)) view.has_execute = model->execute != nullptr;
  if (major == 2 && LLMRT_COVERS(llmrt_model, model, execute_with_key)) {
    view.has_v2_fields = true;
    view.key_name = model->key_name;
    view.key_env_var = model->key_env_var;
    view.capabilities = model->capabilities;
    view.has_execute_with_key = model->execute_with_key != nullptr;
  }
  return view;
}

}  // namespace

RawLibrary::RawLibrary(const std::filesystem::path& path) {
  ::dlerror();
  note_activity("loading the plugin with dlopen (its static constructors run)");
  handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  note_activity({});
  if (handle_ == nullptr) {
    const char* error = ::dlerror();
    throw std::runtime_error(error != nullptr ? error : "dlopen failed");
  }
  entry_ = reinterpret_cast<llmrt_entry_fn>(::dlsym(handle_, LLMRT_ENTRY_SYMBOL));
}

RawLibrary::~RawLibrary() {
  if (handle_ == nullptr) return;
  note_activity("unloading the plugin with dlclose (its static destructors run)");
  ::dlclose(handle_);
  note_activity({});
}

Negotiation negotiate(const RawLibrary& library, std::uint32_t host_version,
                      const std::string& user_dir) {
  const llmrt_host_info host = {sizeof(llmrt_host_info), host_version, "llmrt-conformance",
                                LLMRT_CONFORMANCE_VERSION, user_dir.c_str()};
  constexpr std::uint32_t kUnset = 0xFFFFFFFFu;
  std::uint32_t answered = kUnset;
  Negotiation negotiation;
  negotiation.host_version = host_version;
  note_activity("calling " LLMRT_ENTRY_SYMBOL " as a host speaking ABI " +
                version_string(host_version));
  negotiation.plugin = library.entry()(&host, &answered);
  note_activity({});
  negotiation.stored = answered != kUnset;
  negotiation.answered = answered;
  return negotiation;
}

std::string ModelView::name() const {
  if (id != nullptr && valid_model_id(id)) return "model '" + std::string(id) + "'";
  return "model #" + std::to_string(index);
}

// As the host: the size each struct had in its major version's first minor (x.0). Later minors
// may append fields, never require them.
std::size_t PluginView::expected_plugin_size() const {
  return major() == 1 ? offsetof(llmrt_v1_plugin, get_extension) + sizeof(void (*)())
                      : offsetof(llmrt_plugin, get_extension) + sizeof(void (*)());
}

std::size_t PluginView::expected_model_size() const {
  return major() == 1 ? offsetof(llmrt_v1_model, execute) + sizeof(void (*)())
                      : offsetof(llmrt_model, execute_with_key) + sizeof(void (*)());
}

PluginView view_plugin(const Negotiation& negotiation) {
  const auto* plugin = static_cast<const llmrt_plugin*>(negotiation.plugin);
  PluginView view;
  view.answered = negotiation.answered;
  view.struct_size = plugin->struct_size;
  if (LLMRT_COVERS(llmrt_plugin, plugin, abi_version)) view.abi_version = plugin->abi_version;
  if (LLMRT_COVERS(llmrt_plugin, plugin, name)) view.name = plugin->name;
  if (LLMRT_COVERS(llmrt_plugin, plugin, version)) view.version = plugin->version;
  if (LLMRT_COVERS(llmrt_plugin, plugin, get_extension)) view.get_extension = plugin->get_extension;
  if (LLMRT_COVERS(llmrt_plugin, plugin, models)) {
    view.model_count = plugin->model_count;
    view.has_models_array = plugin->models != nullptr;
    if (view.has_models_array) {
      const std::size_t count = std::min(view.model_count, kMaxModels);
      for (std::size_t i = 0; i < count; ++i) {
        const llmrt_model* model = plugin->models[i];
        if (model == nullptr) {
          view.null_models.push_back(i);
        } else {
          view.models.push_back(view_model(i, model, view.major()));
        }
      }
    }
  }
  return view;
}

}  // namespace llmrt::conformance
