// v1_counted: an ABI v1 plugin (so its model is not reentrant: "never called concurrently") that
// counts how often its entry point runs. Model "v1-counted" checks the concurrency promise: a call
// that enters while another is running fails with "concurrent call into a v1 model". Each call
// writes "entries=N", N being the entry calls so far (the ABI says: once per load).
#include <llmrt/abi/plugin_v1.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace {

std::atomic<int> entries{0};
std::atomic<int> in_flight{0};

llmrt_v1_status execute(const llmrt_v1_model*, const llmrt_v1_prompt*, const llmrt_v1_sink* out) {
  if (in_flight.fetch_add(1) > 0) {
    in_flight.fetch_sub(1);
    static const char kMessage[] = "concurrent call into a v1 model";
    out->error(out->host_data, kMessage, sizeof kMessage - 1);
    return LLMRT_V1_FAILED;
  }
  // Long enough that overlapping calls from two runtimes would be caught.
  std::this_thread::sleep_for(std::chrono::microseconds(300));
  const std::string text = "entries=" + std::to_string(entries.load());
  const int stop = out->write(out->host_data, text.data(), text.size());
  in_flight.fetch_sub(1);
  return stop ? LLMRT_V1_CANCELLED : LLMRT_V1_OK;
}

const llmrt_v1_model model = {
    sizeof(llmrt_v1_model), "v1-counted", "Counted (ABI v1)", nullptr, nullptr, execute};
const llmrt_v1_model* const models[] = {&model};
const llmrt_v1_plugin plugin = {
    sizeof(llmrt_v1_plugin), LLMRT_V1_ABI_VERSION, "v1-counted", "1.0.0", 1, models, nullptr};

}  // namespace

extern "C" LLMRT_V1_EXPORT const void* llmrt_plugin_entry(const llmrt_v1_host_info*,
                                                          uint32_t* plugin_abi_version) {
  entries.fetch_add(1);
  if (plugin_abi_version == nullptr) return nullptr;
  *plugin_abi_version = LLMRT_V1_ABI_VERSION;
  return &plugin;
}
