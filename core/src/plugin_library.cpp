#include "plugin_library.hpp"

#include <llmrt/abi/plugin_v1.h>
#include <llmrt/plugin.h>
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <set>

#include "model_binding.hpp"

namespace llmrt {
namespace {

constexpr std::size_t kMaxModels = 4096;
constexpr std::size_t kMaxIdLength = 128;

using EntryFunction = const void*(const llmrt_host_info*, std::uint32_t*);

[[noreturn]] void fail(LoadErrorKind kind, const std::filesystem::path& path,
                       const std::string& why) {
  throw PluginLoadError(kind, "plugin '" + path.string() + "': " + why);
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t extra = lead < 0x80             ? 0
                              : (lead & 0xE0) == 0xC0 ? 1
                              : (lead & 0xF0) == 0xE0 ? 2
                              : (lead & 0xF8) == 0xF0 ? 3
                                                      : 4;
    if (extra == 4 || i + extra >= text.size() + (extra == 0 ? 1 : 0)) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Model ids appear on command lines and in URLs: printable ASCII, no spaces.
bool valid_model_id(const char* id) {
  if (id == nullptr) return false;
  const std::string_view text(id);
  return !text.empty() && text.size() <= kMaxIdLength &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("._:/@+-").find(c) != std::string_view::npos;
         });
}

bool present(const char* text) {
  return text != nullptr && *text != '\0';
}

// A key name is also a keys-file entry name: the keys file's rule applies.
bool valid_key_name(const char* name) {
  if (name == nullptr) return false;
  try {
    validate_key_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// The fields common to every model version, checked the same way for v1 and v2.
struct CommonModelFields {
  std::uint32_t struct_size;
  const char* id;
  const char* display_name;
  const char* options_schema_json;
  bool has_execute;
};

ModelInfo describe_common(const std::filesystem::path& path, const PluginInfo& plugin,
                          std::size_t index, const CommonModelFields& fields,
                          std::size_t minimum_size, OptionsSchema& schema) {
  if (fields.struct_size < minimum_size) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model #" + std::to_string(index) + " has struct_size " +
             std::to_string(fields.struct_size) + ", smaller than its ABI's " +
             std::to_string(minimum_size));
  }
  if (!valid_model_id(fields.id)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model #" + std::to_string(index) +
             " has a missing or invalid id (1-128 printable ASCII characters, no spaces)");
  }
  const std::string id = fields.id;
  if (!fields.has_execute) {
    fail(LoadErrorKind::invalid_descriptor, path, "model '" + id + "' has no execute function");
  }
  if (fields.display_name != nullptr && !valid_utf8(fields.display_name)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model '" + id + "' has a display name that is not valid UTF-8");
  }
  try {
    schema = OptionsSchema::parse(fields.options_schema_json ? fields.options_schema_json : "");
  } catch (const std::invalid_argument& error) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model '" + id + "' has an invalid options schema: " + error.what());
  }
  ModelInfo info;
  info.id = id;
  info.plugin_name = plugin.name;
  info.plugin_version = plugin.version;
  info.plugin_path = plugin.path;
  info.abi_version = plugin.abi_version;
  info.display_name = present(fields.display_name) ? fields.display_name : id;
  info.options_schema_json =
      present(fields.options_schema_json) ? fields.options_schema_json : "{}";
  return info;
}

std::shared_ptr<const ModelBinding> bind_v2_model(const std::filesystem::path& path,
                                                  const PluginInfo& plugin, std::size_t index,
                                                  const llmrt_model* model,
                                                  const std::shared_ptr<PluginLibrary>& library) {
  if (model == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path, "model #" + std::to_string(index) + " is NULL");
  }
  OptionsSchema schema;
  ModelInfo info = describe_common(
      path, plugin, index,
      {model->struct_size, model->id, model->display_name, model->options_schema_json,
       model->execute != nullptr},
      offsetof(llmrt_model, execute_with_key) + sizeof(model->execute_with_key), schema);
  const std::uint64_t caps = model->capabilities;
  info.accepts_key = (caps & LLMRT_CAP_ACCEPTS_KEY) != 0;
  info.requires_key = (caps & LLMRT_CAP_REQUIRES_KEY) != 0;
  info.streaming = (caps & LLMRT_CAP_STREAMING) != 0;
  info.reentrant = (caps & LLMRT_CAP_REENTRANT) != 0;
  info.deterministic = (caps & LLMRT_CAP_DETERMINISTIC) != 0;
  // A bit a plugin's own ABI did not define means nothing: only 2.2+ may claim conversations.
  info.conversation =
      (caps & LLMRT_CAP_CONVERSATION) != 0 && plugin.abi_version >= LLMRT_ABI_MAKE_VERSION(2, 2);
  const bool has_keyed = model->execute_with_key != nullptr;
  if (info.accepts_key && !has_keyed) {
    fail(LoadErrorKind::capability_mismatch, path,
         "model '" + info.id + "' sets LLMRT_CAP_ACCEPTS_KEY but has no execute_with_key function");
  }
  if (!info.accepts_key && has_keyed) {
    fail(LoadErrorKind::capability_mismatch, path,
         "model '" + info.id +
             "' has an execute_with_key function but does not set LLMRT_CAP_ACCEPTS_KEY");
  }
  if (info.requires_key && !info.accepts_key) {
    fail(LoadErrorKind::capability_mismatch, path,
         "model '" + info.id + "' sets LLMRT_CAP_REQUIRES_KEY without LLMRT_CAP_ACCEPTS_KEY");
  }
  if (info.accepts_key && !valid_key_name(model->key_name)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model '" + info.id +
             "' accepts a key but has no valid key_name (1-128 of A-Z a-z 0-9 . _ -)");
  }
  if (info.accepts_key) info.key_name = model->key_name;
  if (present(model->key_env_var)) info.key_env_var = model->key_env_var;
  return std::make_shared<ModelBinding>(std::move(info), std::move(schema), library, model);
}

std::shared_ptr<const ModelBinding> bind_v1_model(const std::filesystem::path& path,
                                                  const PluginInfo& plugin, std::size_t index,
                                                  const llmrt_v1_model* model,
                                                  const std::shared_ptr<PluginLibrary>& library) {
  if (model == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path, "model #" + std::to_string(index) + " is NULL");
  }
  OptionsSchema schema;
  ModelInfo info = describe_common(path, plugin, index,
                                   {model->struct_size, model->id, model->display_name,
                                    model->options_schema_json, model->execute != nullptr},
                                   sizeof(llmrt_v1_model), schema);
  // A v1 model knows nothing of keys or concurrency: it is called one at a time, without a key.
  return std::make_shared<ModelBinding>(std::move(info), std::move(schema), library, model);
}

// The plugin struct's leading fields, identical in every major version.
struct PluginHeader {
  std::uint32_t struct_size;
  std::uint32_t abi_version;
};

// The size of a plugin struct as its major version's first minor defined it (get_extension is
// its last field in v1.0 and v2.0): later minors may append fields, never require them.
template <class PluginStruct>
constexpr std::size_t first_minor_size() {
  return offsetof(PluginStruct, get_extension) + sizeof(PluginStruct::get_extension);
}

template <class PluginStruct>
void check_plugin_struct(const std::filesystem::path& path, const PluginStruct* plugin,
                         std::uint32_t answered) {
  constexpr std::size_t minimum = first_minor_size<PluginStruct>();
  if (plugin->struct_size < minimum) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "plugin struct_size " + std::to_string(plugin->struct_size) + " is smaller than ABI " +
             abi_version_string(answered) + "'s " + std::to_string(minimum));
  }
  if (LLMRT_ABI_MAJOR(plugin->abi_version) != LLMRT_ABI_MAJOR(answered)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "plugin struct says ABI " + abi_version_string(plugin->abi_version) +
             " but negotiation answered " + abi_version_string(answered));
  }
  if (!present(plugin->name) || !valid_utf8(plugin->name) || !present(plugin->version)) {
    fail(LoadErrorKind::invalid_descriptor, path, "plugin has no name or no version");
  }
  if (plugin->model_count > kMaxModels) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "plugin declares " + std::to_string(plugin->model_count) + " models (at most " +
             std::to_string(kMaxModels) + ")");
  }
  if (plugin->model_count > 0 && plugin->models == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path, "plugin declares models but gives no array");
  }
}

template <class PluginStruct, class Bind>
LoadedPlugin bind_plugin(const std::filesystem::path& path, const PluginStruct* plugin,
                         std::uint32_t answered, const std::shared_ptr<PluginLibrary>& library,
                         Bind bind) {
  check_plugin_struct(path, plugin, answered);
  LoadedPlugin loaded;
  loaded.info.name = plugin->name;
  loaded.info.version = plugin->version;
  loaded.info.path = path.string();
  loaded.info.abi_version = answered;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < plugin->model_count; ++i) {
    auto binding = bind(path, loaded.info, i, plugin->models[i], library);
    if (!ids.insert(binding->info().id).second) {
      fail(LoadErrorKind::duplicate_model, path,
           "model id '" + binding->info().id + "' appears twice in this plugin");
    }
    loaded.info.model_ids.push_back(binding->info().id);
    loaded.models.push_back(std::move(binding));
  }
  return loaded;
}

}  // namespace

std::vector<std::string> exported_symbols(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(LoadErrorKind::not_found, path, "no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail(LoadErrorKind::not_a_shared_object, path, "not a regular file");
  }
  try {
    boost::dll::library_info info(path);
    return info.symbols();
  } catch (const std::exception& error) {
    fail(LoadErrorKind::not_a_shared_object, path,
         "not a shared object this platform can load (" + std::string(error.what()) + ")");
  }
}

LoadedPlugin load_plugin(const std::filesystem::path& path, const HostIdentity& host) {
  // Read the symbol table first, so that a shared object that is not an llmrt plugin never gets
  // its constructors run.
  const std::vector<std::string> symbols = exported_symbols(path);
  if (std::find(symbols.begin(), symbols.end(), LLMRT_ENTRY_SYMBOL) == symbols.end()) {
    fail(LoadErrorKind::no_entry_symbol, path,
         "does not export " LLMRT_ENTRY_SYMBOL "; it is not an llmrt plugin");
  }
  boost::dll::shared_library library;
  try {
    // RTLD_NOW: a missing symbol fails here, with a clear message, not at the first call.
    library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& error) {
    fail(LoadErrorKind::load_failed, path,
         "the dynamic loader refused it: " + std::string(error.what()));
  }
  EntryFunction* entry = &library.get<EntryFunction>(LLMRT_ENTRY_SYMBOL);
  auto shared = std::make_shared<PluginLibrary>(std::move(library));

  const llmrt_host_info host_info = {sizeof(llmrt_host_info), host.abi_version, "llmrt",
                                     LLMRT_VERSION, host.user_dir.c_str()};
  std::uint32_t answered = 0;
  const void* plugin = entry(&host_info, &answered);
  const std::uint32_t plugin_major = LLMRT_ABI_MAJOR(answered);
  if (plugin_major > LLMRT_ABI_MAJOR(host.abi_version)) {
    fail(LoadErrorKind::abi_too_new, path,
         "this plugin needs a newer llmrt (plugin ABI " + abi_version_string(answered) +
             ", host ABI " + abi_version_string(host.abi_version) + ")");
  }
  if (plugin == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "its entry point returned no plugin (it answered ABI " + abi_version_string(answered) +
             ")");
  }
  if (static_cast<const PluginHeader*>(plugin)->struct_size < sizeof(PluginHeader)) {
    fail(LoadErrorKind::invalid_descriptor, path, "plugin struct_size is too small");
  }

  LoadedPlugin loaded;
  if (plugin_major == 2) {
    loaded = bind_plugin(path, static_cast<const llmrt_plugin*>(plugin), answered, shared,
                         &bind_v2_model);
  } else if (plugin_major == 1) {
    loaded = bind_plugin(path, static_cast<const llmrt_v1_plugin*>(plugin), answered, shared,
                         &bind_v1_model);
  } else {
    fail(LoadErrorKind::invalid_descriptor, path,
         "it answered ABI " + abi_version_string(answered) + ", which no llmrt ever spoke");
  }
  return loaded;
}

}  // namespace llmrt
