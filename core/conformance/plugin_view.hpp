// The plugin as the raw ABI shows it, without the host's validation in between: dlopen, the entry
// call with any host ABI version, and read-only views of the structs it returns. Every field is
// read only when the writer's struct_size covers it (the ABI's struct_size rule), so a short struct
// never makes the tool read past it. The descriptor and negotiation checks work on these views.
#ifndef LLMRT_CONFORMANCE_PLUGIN_VIEW_HPP
#define LLMRT_CONFORMANCE_PLUGIN_VIEW_HPP

#include <llmrt/plugin.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace llmrt::conformance {

// One dlopen(RTLD_NOW | RTLD_LOCAL) of the plugin file; dlclose on destruction.
class RawLibrary {
 public:
  // Throws std::runtime_error with dlerror()'s text when the loader refuses the file.
  explicit RawLibrary(const std::filesystem::path& path);
  ~RawLibrary();
  RawLibrary(const RawLibrary&) = delete;
  RawLibrary& operator=(const RawLibrary&) = delete;

  llmrt_entry_fn entry() const { return entry_; }  // NULL when the symbol is missing

 private:
  void* handle_ = nullptr;
  llmrt_entry_fn entry_ = nullptr;
};

// What the entry point answered to one host version.
struct Negotiation {
  std::uint32_t host_version = 0;
  bool stored = false;           // it wrote *plugin_abi_version
  std::uint32_t answered = 0;    // what it wrote there
  const void* plugin = nullptr;  // what it returned
};

// Calls `library.entry()` as a host speaking `host_version` would, with user_dir `user_dir`.
Negotiation negotiate(const RawLibrary& library, std::uint32_t host_version,
                      const std::string& user_dir);

// One model, v1 or v2, fields present only where struct_size covers them.
struct ModelView {
  std::size_t index = 0;
  const void* address = nullptr;
  std::uint32_t struct_size = 0;
  const char* id = nullptr;
  const char* display_name = nullptr;
  const char* options_schema_json = nullptr;
  bool has_execute = false;
  // ABI v2 fields (has_v2_fields: the struct covers them all)
  bool has_v2_fields = false;
  const char* key_name = nullptr;
  const char* key_env_var = nullptr;
  std::uint64_t capabilities = 0;
  bool has_execute_with_key = false;

  std::string name() const;  // "model 'echo'" or "model #2"
};

// The plugin struct, read with the layout of the major version it answered (1 or 2: the same
// leading fields).
struct PluginView {
  std::uint32_t answered = 0;  // negotiated version
  std::uint32_t struct_size = 0;
  std::uint32_t abi_version = 0;  // the struct's own field
  const char* name = nullptr;
  const char* version = nullptr;
  std::size_t model_count = 0;
  bool has_models_array = false;
  const void* (*get_extension)(const char* id) = nullptr;
  std::vector<ModelView> models;         // the non-NULL entries (up to kMaxModels)
  std::vector<std::size_t> null_models;  // indexes of NULL entries

  unsigned major() const { return LLMRT_ABI_MAJOR(answered); }
  std::size_t expected_plugin_size() const;  // sizeof the plugin struct of that major
  std::size_t expected_model_size() const;   // sizeof the model struct of that major
};

// Reads the plugin struct a negotiation returned (which must be non-NULL).
PluginView view_plugin(const Negotiation& negotiation);

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_PLUGIN_VIEW_HPP
