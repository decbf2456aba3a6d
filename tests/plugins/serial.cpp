// serial: model "serial" is NOT reentrant, and it checks that promise: if a second call enters
// while one is running, that call throws "concurrent call into a non-reentrant model". The runtime
// must serialize calls to it however many threads prompt at once. Each call writes the prompt text.
#include <llmrt/sdk.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

struct Serial {
  static constexpr llmrt::sdk::ModelInfo info{.id = "serial", .reentrant = false};

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
    if (in_flight.fetch_add(1) > 0) {
      in_flight.fetch_sub(1);
      throw llmrt::sdk::Error("concurrent call into a non-reentrant model");
    }
    // Long enough that overlapping calls would be caught, short enough for many calls.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    out.write(prompt.text);
    in_flight.fetch_sub(1);
  }

  std::atomic<int> in_flight{0};
};

}  // namespace

LLMRT_PLUGIN("serial", "1.0.0", Serial)
