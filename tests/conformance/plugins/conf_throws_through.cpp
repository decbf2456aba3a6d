// conf_throws_through: model "throws-through", written in C++ without the SDK, throws
// std::invalid_argument out of execute when the options name an option it does not know.
// Breaks: no exception may cross the C ABI (in a C host it terminates the process). Must fail
// exactly exceptions.none_escape (the only check that sends unknown options).
#include <llmrt/plugin.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace {

llmrt_status throws_execute(const llmrt_model*, const llmrt_prompt* prompt, const llmrt_sink* out) {
  const std::string_view options(prompt->options.data, prompt->options.size);
  if (options.find("nonexistent") != std::string_view::npos) {
    throw std::invalid_argument("unknown option 'nonexistent'");
  }
  if (prompt->text.size > 0 && out->write(out->host_data, prompt->text.data, prompt->text.size)) {
    return LLMRT_CANCELLED;
  }
  return LLMRT_OK;
}

const llmrt_model model = [] {
  llmrt_model m{};
  m.struct_size = sizeof(llmrt_model);
  m.id = "throws-through";
  m.execute = &throws_execute;
  return m;
}();

const llmrt_model* const models[] = {&model};

const llmrt_plugin plugin = {
    sizeof(llmrt_plugin), LLMRT_ABI_VERSION, "conf-throws-through", "1.0.0", 1, models, nullptr};

}  // namespace

extern "C" LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,
                                                               uint32_t* plugin_abi_version) {
  if (plugin_abi_version == nullptr) return nullptr;
  *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == nullptr || LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) {
    return nullptr;
  }
  return &plugin;
}
