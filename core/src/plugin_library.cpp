#include "plugin_library.hpp"

#include <llmrt/abi/plugin_v1.h>
#include <llmrt/plugin.h>
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <boost/core/demangle.hpp>
#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstring>
#include <exception>
#include <optional>
#include <set>
#include <typeinfo>

#include "model_binding.hpp"
#include "plugin_table.hpp"

namespace llmrt {
namespace {

constexpr std::size_t kMaxModels = 4096;
constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kMaxNameLength = 128;    // plugin name, key name, key env var
constexpr std::size_t kMaxVersionLength = 64;  // eg: "1.2.0-beta.1+build.5"
constexpr std::size_t kMaxDisplayNameLength = 256;
constexpr std::size_t kMaxSchemaLength = 64 * 1024;
constexpr std::size_t kMaxThrownTextLength = 200;  // what is kept of an exception's text

using EntryFunction = const void*(const llmrt_host_info*, std::uint32_t*);

[[noreturn]] void fail(LoadErrorKind kind, const std::filesystem::path& path,
                       const std::string& why) {
  throw PluginLoadError(kind, "plugin '" + path.string() + "': " + why);
}

// A plugin string read without trusting it to end: nullopt for NULL, or when no NUL comes within
// `cap` bytes (strnlen never reads past the cap, where strlen could run off the mapping).
std::optional<std::string_view> bounded(const char* text, std::size_t cap) {
  if (text == nullptr) return std::nullopt;
  const std::size_t length = ::strnlen(text, cap + 1);
  if (length > cap) return std::nullopt;
  return std::string_view(text, length);
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
  const auto bounded_id = bounded(id, kMaxIdLength);
  if (!bounded_id) return false;
  const std::string_view text = *bounded_id;
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._:/@+-").find(c) != std::string_view::npos;
  });
}

bool present(const char* text) {
  return text != nullptr && *text != '\0';
}

// A version is shown and compared, never parsed: 1-64 printable ASCII characters, no spaces.
bool valid_version(const char* version) {
  const auto text = bounded(version, kMaxVersionLength);
  return text && !text->empty() &&
         std::all_of(text->begin(), text->end(), [](char c) { return c > ' ' && c < 0x7F; });
}

// An environment variable name as POSIX shells write them: [A-Za-z_][A-Za-z0-9_]*, at most 128.
bool valid_env_var_name(const char* name) {
  const auto text = bounded(name, kMaxNameLength);
  if (!text || text->empty() || ((*text)[0] >= '0' && (*text)[0] <= '9')) return false;
  return std::all_of(text->begin(), text->end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A key name is also a keys-file entry name: the keys file's rule applies.
bool valid_key_name(const char* name) {
  const auto text = bounded(name, kMaxNameLength);
  if (!text) return false;
  try {
    validate_key_name(*text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Reads nothing but `struct_size`: every other field of a model is read only once this check has
// shown that the plugin's struct holds it.
void check_model_size(const std::filesystem::path& path, std::size_t index,
                      std::uint32_t struct_size, std::size_t minimum_size) {
  if (struct_size < minimum_size) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model #" + std::to_string(index) + " has struct_size " + std::to_string(struct_size) +
             ", smaller than its ABI's " + std::to_string(minimum_size));
  }
}

// The fields common to every model version, read after check_model_size.
struct CommonModelFields {
  const char* id;
  const char* display_name;
  const char* options_schema_json;
  bool has_execute;
};

ModelInfo describe_common(const std::filesystem::path& path, const PluginInfo& plugin,
                          std::size_t index, const CommonModelFields& fields,
                          OptionsSchema& schema) {
  if (!valid_model_id(fields.id)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "model #" + std::to_string(index) +
             " has a missing or invalid id (1-128 printable ASCII characters, no spaces)");
  }
  const std::string id = fields.id;
  if (!fields.has_execute) {
    fail(LoadErrorKind::invalid_descriptor, path, "model '" + id + "' has no execute function");
  }
  std::string_view display_name;
  if (fields.display_name != nullptr) {
    const auto text = bounded(fields.display_name, kMaxDisplayNameLength);
    if (!text || !valid_utf8(*text)) {
      fail(LoadErrorKind::invalid_descriptor, path,
           "model '" + id + "' has a display name that is not valid UTF-8 of at most " +
               std::to_string(kMaxDisplayNameLength) + " bytes");
    }
    display_name = *text;
  }
  std::string_view schema_text;
  if (fields.options_schema_json != nullptr) {
    const auto text = bounded(fields.options_schema_json, kMaxSchemaLength);
    if (!text) {
      fail(LoadErrorKind::invalid_descriptor, path,
           "model '" + id + "' has an options schema longer than " +
               std::to_string(kMaxSchemaLength) + " bytes");
    }
    schema_text = *text;
  }
  try {
    schema = OptionsSchema::parse(std::string(schema_text));
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
  info.display_name = display_name.empty() ? id : std::string(display_name);
  info.options_schema_json = schema_text.empty() ? "{}" : std::string(schema_text);
  return info;
}

std::unique_ptr<const ModelBinding> bind_v2_model(const std::filesystem::path& path,
                                                  const PluginInfo& plugin, std::size_t index,
                                                  const llmrt_model* model) {
  if (model == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path, "model #" + std::to_string(index) + " is NULL");
  }
  check_model_size(path, index, model->struct_size,
                   offsetof(llmrt_model, execute_with_key) + sizeof(model->execute_with_key));
  OptionsSchema schema;
  ModelInfo info = describe_common(
      path, plugin, index,
      {model->id, model->display_name, model->options_schema_json, model->execute != nullptr},
      schema);
  const std::uint64_t caps = model->capabilities;
  info.accepts_key = (caps & LLMRT_CAP_ACCEPTS_KEY) != 0;
  info.requires_key = (caps & LLMRT_CAP_REQUIRES_KEY) != 0;
  info.streaming = (caps & LLMRT_CAP_STREAMING) != 0;
  info.reentrant = (caps & LLMRT_CAP_REENTRANT) != 0;
  info.deterministic = (caps & LLMRT_CAP_DETERMINISTIC) != 0;
  // The functions are read once, here, and called through these copies only: a plugin that
  // rewrites its table later cannot make a call disagree with the capabilities checked below.
  ModelBinding::Functions functions{model->execute, model->execute_with_key};
  // A bit a plugin's own ABI did not define means nothing: only 2.2+ may claim conversations.
  info.conversation =
      (caps & LLMRT_CAP_CONVERSATION) != 0 && plugin.abi_version >= LLMRT_ABI_MAKE_VERSION(2, 2);
  const bool has_keyed = functions.execute_with_key != nullptr;
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
  // NULL or "" both mean: no environment variable.
  if (model->key_env_var != nullptr && *model->key_env_var != '\0') {
    if (!valid_env_var_name(model->key_env_var)) {
      fail(LoadErrorKind::invalid_descriptor, path,
           "model '" + info.id +
               "' has an invalid key_env_var (1-128 of A-Z a-z 0-9 _, not starting with a digit)");
    }
    info.key_env_var = model->key_env_var;
  }
  return std::make_unique<const ModelBinding>(std::move(info), std::move(schema), model, functions);
}

std::unique_ptr<const ModelBinding> bind_v1_model(const std::filesystem::path& path,
                                                  const PluginInfo& plugin, std::size_t index,
                                                  const llmrt_v1_model* model) {
  if (model == nullptr) {
    fail(LoadErrorKind::invalid_descriptor, path, "model #" + std::to_string(index) + " is NULL");
  }
  check_model_size(path, index, model->struct_size, sizeof(llmrt_v1_model));
  OptionsSchema schema;
  ModelInfo info = describe_common(
      path, plugin, index,
      {model->id, model->display_name, model->options_schema_json, model->execute != nullptr},
      schema);
  // A v1 model knows nothing of keys or concurrency: it is called one at a time, without a key.
  return std::make_unique<const ModelBinding>(std::move(info), std::move(schema), model,
                                              model->execute);
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
  const auto name = bounded(plugin->name, kMaxNameLength);
  if (!name || name->empty() || !valid_utf8(*name)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "plugin has no name, or not one of 1-128 bytes of UTF-8");
  }
  if (!present(plugin->version)) {
    fail(LoadErrorKind::invalid_descriptor, path, "plugin has no version");
  }
  if (!valid_version(plugin->version)) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "plugin has an invalid version (1-64 printable ASCII characters, no spaces)");
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
PluginInfo bind_plugin(const std::filesystem::path& path, const PluginStruct* plugin,
                       std::uint32_t answered, Bind bind,
                       std::vector<std::unique_ptr<const ModelBinding>>& bindings) {
  check_plugin_struct(path, plugin, answered);
  PluginInfo info;
  info.name = plugin->name;
  info.version = plugin->version;
  info.path = path.string();
  info.abi_version = answered;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < plugin->model_count; ++i) {
    auto binding = bind(path, info, i, plugin->models[i]);
    if (!ids.insert(binding->info().id).second) {
      fail(LoadErrorKind::duplicate_model, path,
           "model id '" + binding->info().id + "' appears twice in this plugin");
    }
    info.model_ids.push_back(binding->info().id);
    bindings.push_back(std::move(binding));
  }
  return info;
}

// What an exception thrown by plugin code says, copied into host memory while the plugin is still
// mapped (its type_info, vtable and text all live in the plugin). Called from a catch block only.
std::string describe_current_exception() {
  std::string said;
  try {
    throw;
  } catch (const std::exception& error) {
    said = boost::core::demangle(typeid(error).name()) + ": " + error.what();
  } catch (...) {
    said = "an exception that is not a std::exception";
  }
  if (said.size() > kMaxThrownTextLength) said = said.substr(0, kMaxThrownTextLength) + "...";
  for (char& c : said) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return said;
}

}  // namespace

PluginLibrary::PluginLibrary(boost::dll::shared_library library) : library_(std::move(library)) {}

// Out of line: ModelBinding is complete here. The bindings go first, then the library is closed.
PluginLibrary::~PluginLibrary() = default;

std::vector<std::shared_ptr<const ModelBinding>> PluginLibrary::models() const {
  std::vector<std::shared_ptr<const ModelBinding>> models;
  models.reserve(bindings_.size());
  const std::shared_ptr<const PluginLibrary> self = shared_from_this();
  for (const auto& binding : bindings_) models.emplace_back(self, binding.get());
  return models;
}

void PluginLibrary::bind(const std::filesystem::path& path, const HostIdentity& host) {
  EntryFunction* entry = &library_.get<EntryFunction>(LLMRT_ENTRY_SYMBOL);
  const llmrt_host_info host_info = {sizeof(llmrt_host_info), host.abi_version, "llmrt",
                                     LLMRT_VERSION, host.user_dir.c_str()};
  std::uint32_t answered = 0;
  const void* plugin = nullptr;
  std::optional<std::string> thrown;
  try {
    plugin = entry(&host_info, &answered);
  } catch (...) {
    // Whatever the type, it is described and destroyed here, before the library can be closed.
    thrown = describe_current_exception();
  }
  if (thrown) {
    fail(LoadErrorKind::invalid_descriptor, path,
         "its entry point threw through the C ABI (a contract breach): " + *thrown);
  }
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
  if (plugin_major == 2) {
    info_ = bind_plugin(path, static_cast<const llmrt_plugin*>(plugin), answered, &bind_v2_model,
                        bindings_);
  } else if (plugin_major == 1) {
    info_ = bind_plugin(path, static_cast<const llmrt_v1_plugin*>(plugin), answered, &bind_v1_model,
                        bindings_);
  } else {
    fail(LoadErrorKind::invalid_descriptor, path,
         "it answered ABI " + abi_version_string(answered) + ", which no llmrt ever spoke");
  }
}

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
  const std::shared_ptr<const PluginLibrary> plugin = bind_once(std::move(library), path, host);
  return LoadedPlugin{plugin->info(), plugin->models()};
}

}  // namespace llmrt
