// llmrt plugin SDK, dynamic models: for plugins whose list of models is only known when the plugin
// loads (eg: read from a configuration file in the user directory).
//
//   std::vector<llmrt::sdk::DynamicModelSpec> make_models(const llmrt::sdk::HostInfo& host) {
//     std::vector<llmrt::sdk::DynamicModelSpec> specs;
//     specs.push_back({.id = "my-model", .accepts_key = true, .key_name = "my",
//                      .model = std::make_unique<MyModel>(...)});
//     return specs;
//   }
//   LLMRT_PLUGIN_DYNAMIC("my-plugin", "1.0.0", make_models)
//
// The factory runs on the first entry call after the library is loaded; later calls while it
// stays loaded get the same list, so that descriptors a host still holds stay valid. If it throws,
// the entry point returns NULL and the host refuses the plugin. As with static models, ACCEPTS_KEY
// and execute_with_key are derived from one fact (`accepts_key`), so they always agree; exceptions
// never cross the boundary.
#ifndef LLMRT_SDK_DYNAMIC_HPP
#define LLMRT_SDK_DYNAMIC_HPP

#include <llmrt/sdk.hpp>

#include <memory>
#include <string>
#include <vector>

namespace llmrt::sdk {

// What the host said about itself when it loaded the plugin. Valid during the factory call only.
struct HostInfo {
  std::string_view host_name;     // eg: "llmrt"
  std::string_view host_version;  // eg: "0.1.0"
  std::string_view user_dir;      // eg: "/home/ann/.config/llmrt"; may be empty
  std::uint32_t abi_version = 0;  // the newest ABI the host speaks
};

// A model object. One instance serves every call of its model: see `reentrant`.
class DynamicModel {
 public:
  virtual ~DynamicModel() = default;
  // Runs one prompt without a key.
  virtual void execute(const Prompt& prompt, Output& out) = 0;
  // Runs one prompt with a key; called only for specs with accepts_key = true.
  virtual void execute(const Prompt& prompt, Output& out, const Key& key) {
    (void)key;
    execute(prompt, out);
  }
};

struct DynamicModelSpec {
  std::string id{};            // eg: "gpt-4o-mini", mandatory
  std::string display_name{};  // optional
  bool accepts_key = false;    // calls may carry a key (the keyed execute is used)
  bool requires_key = false;   // needs accepts_key
  std::string key_name{};      // mandatory when accepts_key, eg: "openai"
  std::string key_env_var{};   // optional, eg: "OPENAI_API_KEY"
  bool streaming = false;
  bool reentrant = false;
  bool deterministic = false;
  // Reads conversations (sets LLMRT_CAP_CONVERSATION): execute then finds the system prompt and the
  // earlier turns through as_conversation(prompt).
  bool conversation = false;
  std::string options_schema{};           // JSON schema of the options, optional
  std::unique_ptr<DynamicModel> model{};  // mandatory
};

// The conversation behind the prompt a DynamicModel's execute received: every Prompt the SDK
// passes is a ConversationPrompt (with an empty history when the host sent none). Only for that
// argument, during that call.
inline const ConversationPrompt& as_conversation(const Prompt& prompt) {
  return static_cast<const ConversationPrompt&>(prompt);
}

namespace detail {

inline const char* c_str_or_null(const std::string& text) {
  return text.empty() ? nullptr : text.c_str();
}

inline llmrt_status dynamic_execute(const llmrt_model* model, const llmrt_prompt* prompt,
                                    const llmrt_sink* sink) noexcept {
  return guarded(sink, [&](Output& out) {
    static_cast<DynamicModel*>(model->model_data)->execute(to_prompt(prompt), out);
  });
}

inline llmrt_status dynamic_execute_keyed(const llmrt_model* model, const llmrt_prompt* prompt,
                                          const llmrt_credential* credential,
                                          const llmrt_sink* sink) noexcept {
  return guarded(sink, [&](Output& out) {
    const Key key(*credential);
    static_cast<DynamicModel*>(model->model_data)->execute(to_prompt(prompt), out, key);
  });
}

// Everything the plugin hands the host, built once and kept for the life of the process.
struct DynamicPlugin {
  std::vector<DynamicModelSpec> specs;
  std::vector<llmrt_model> models;
  std::vector<const llmrt_model*> pointers;
  llmrt_plugin plugin{};

  DynamicPlugin(const char* name, const char* version, std::vector<DynamicModelSpec> made)
      : specs(std::move(made)) {
    models.reserve(specs.size());
    for (auto& spec : specs) {
      if (spec.model == nullptr) throw Error("model '" + spec.id + "' has no model object");
      llmrt_model m{};
      m.struct_size = sizeof(llmrt_model);
      m.id = spec.id.c_str();
      m.display_name = c_str_or_null(spec.display_name);
      m.options_schema_json = c_str_or_null(spec.options_schema);
      m.model_data = spec.model.get();
      m.execute = &dynamic_execute;
      m.key_name = c_str_or_null(spec.key_name);
      m.key_env_var = c_str_or_null(spec.key_env_var);
      m.capabilities = (spec.accepts_key ? LLMRT_CAP_ACCEPTS_KEY : 0) |
                       (spec.requires_key ? LLMRT_CAP_REQUIRES_KEY : 0) |
                       (spec.streaming ? LLMRT_CAP_STREAMING : 0) |
                       (spec.reentrant ? LLMRT_CAP_REENTRANT : 0) |
                       (spec.deterministic ? LLMRT_CAP_DETERMINISTIC : 0) |
                       (spec.conversation ? LLMRT_CAP_CONVERSATION : 0);
      m.execute_with_key = spec.accepts_key ? &dynamic_execute_keyed : nullptr;
      models.push_back(m);
    }
    for (const auto& m : models) pointers.push_back(&m);
    plugin = {sizeof(llmrt_plugin), LLMRT_ABI_VERSION, name,          version,
              pointers.size(),      pointers.data(),   &no_extensions};
  }
};

template <class Factory>
const llmrt_plugin* dynamic_entry(const char* name, const char* version, Factory factory,
                                  const llmrt_host_info* host,
                                  uint32_t* plugin_abi_version) noexcept {
  if (plugin_abi_version != nullptr) *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == nullptr || plugin_abi_version == nullptr) return nullptr;
  if (host->struct_size < offsetof(llmrt_host_info, user_dir) + sizeof(host->user_dir))
    return nullptr;
  if (LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return nullptr;
  // Destroyed when the library is unloaded, after the host has let go of every descriptor.
  static const std::unique_ptr<const DynamicPlugin> built = [&] {
    try {
      const HostInfo info{host->host_name ? host->host_name : "",
                          host->host_version ? host->host_version : "",
                          host->user_dir ? host->user_dir : "", host->abi_version};
      return std::make_unique<const DynamicPlugin>(name, version, factory(info));
    } catch (...) {
      return std::unique_ptr<const DynamicPlugin>();
    }
  }();
  return built != nullptr ? &built->plugin : nullptr;
}

}  // namespace detail
}  // namespace llmrt::sdk

// Exports the plugin entry point for models made at load time by FACTORY, a function
// `std::vector<llmrt::sdk::DynamicModelSpec>(const llmrt::sdk::HostInfo&)`. Use once per plugin.
#define LLMRT_PLUGIN_DYNAMIC(NAME, VERSION, FACTORY)                                              \
  extern "C" LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,     \
                                                                 uint32_t* plugin_abi_version) {  \
    return ::llmrt::sdk::detail::dynamic_entry(NAME, VERSION, FACTORY, host, plugin_abi_version); \
  }

#endif  // LLMRT_SDK_DYNAMIC_HPP
