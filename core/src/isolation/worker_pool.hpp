// The workers of one plugin file: up to `workers_per_plugin` llmrt-plugin-host processes, started
// as calls need them, each running one call at a time. A worker that crashes is replaced after a
// delay that doubles with each crash in a row; after `crash_limit` crashes within `crash_window`
// the plugin is quarantined (its calls fail with Error(plugin_unavailable)) until the window has
// passed. Faults become llmrt::Error codes naming the plugin and the model.
//
// Threading: every member may be called from any thread. Ownership: shared by the plugin's model
// bindings; destroying it kills the idle workers (a busy worker is killed when its call returns).
#ifndef LLMRT_ISOLATION_WORKER_POOL_HPP
#define LLMRT_ISOLATION_WORKER_POOL_HPP

#include <llmrt/plugin.h>
#include <llmrt/isolation.hpp>
#include <llmrt/runtime.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "description.hpp"
#include "worker_process.hpp"

namespace llmrt {
class ModelBinding;
struct LoadedPlugin;
struct HostIdentity;
}  // namespace llmrt

namespace llmrt::isolation {

class WorkerPool : public std::enable_shared_from_this<WorkerPool> {
 public:
  WorkerPool(std::filesystem::path plugin_path, std::string user_dir, std::uint32_t host_abi,
             IsolationConfig config);
  ~WorkerPool();

  // Runs one call of model `model` (its index in the plugin) on a free worker. Returns the
  // plugin's status; throws Error(plugin_crashed | plugin_unavailable | timeout |
  // output_too_large).
  llmrt_status call(const ModelInfo& model, std::uint32_t index, const llmrt_prompt& prompt,
                    const llmrt_credential* credential, const llmrt_sink& sink);

  PluginHealth health() const;

  // Starts the first worker and returns what it loaded (kept as that worker's first use).
  // Throws PluginLoadError (the loader's refusal, or a worker that could not start).
  PluginDescription start();

 private:
  using Clock = std::chrono::steady_clock;

  std::unique_ptr<WorkerProcess> acquire(const ModelInfo& model,
                                         std::optional<Clock::time_point> deadline);
  void release(std::unique_ptr<WorkerProcess> worker, bool crashed);
  std::unique_ptr<WorkerProcess> spawn();
  // Under mutex_: records a crash; quarantines after too many.
  void note_crash_locked(Clock::time_point now);
  std::string quarantine_message_locked(const ModelInfo& model, Clock::time_point now) const;

  const std::filesystem::path plugin_path_;
  const std::string user_dir_;
  const std::uint32_t host_abi_;
  const IsolationConfig config_;
  const std::size_t max_workers_;
  std::string name_;                    // the plugin's name once loaded (the file stem before)
  std::vector<std::string> model_ids_;  // what the first worker described: every worker must agree

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<WorkerProcess>> idle_;
  std::size_t live_ = 0;  // idle + busy + starting
  std::deque<Clock::time_point> crashes_;
  std::size_t crashes_in_a_row_ = 0;
  std::size_t total_crashes_ = 0;
  Clock::time_point next_start_{};
  Clock::time_point quarantined_until_{};
};

// Loads `path` in a worker (process isolation): the same LoadedPlugin as load_plugin(), whose
// bindings call through a WorkerPool. Throws PluginLoadError.
LoadedPlugin load_plugin_in_worker(const std::filesystem::path& path, const HostIdentity& host,
                                   const IsolationConfig& config);

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_WORKER_POOL_HPP
