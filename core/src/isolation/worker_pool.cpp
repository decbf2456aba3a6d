#include "worker_pool.hpp"

#include <llmrt/error.hpp>

#include <cstdio>
#include <thread>

#include "../model_binding.hpp"
#include "../plugin_library.hpp"

namespace llmrt::isolation {
namespace {

std::size_t worker_limit(std::size_t configured) {
  if (configured > 0) return configured;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

ErrorCode code_for(WorkerFailure::Kind kind) {
  switch (kind) {
    case WorkerFailure::Kind::timeout:
      return ErrorCode::timeout;
    case WorkerFailure::Kind::output_too_large:
      return ErrorCode::output_too_large;
    case WorkerFailure::Kind::crashed:
      break;
  }
  return ErrorCode::plugin_crashed;
}

}  // namespace

WorkerPool::WorkerPool(std::filesystem::path plugin_path, std::string user_dir,
                       std::uint32_t host_abi, IsolationConfig config)
    : plugin_path_(std::move(plugin_path)),
      user_dir_(std::move(user_dir)),
      host_abi_(host_abi),
      config_(std::move(config)),
      max_workers_(worker_limit(config_.workers_per_plugin)),
      name_(plugin_path_.stem().string()) {}

WorkerPool::~WorkerPool() = default;

std::unique_ptr<WorkerProcess> WorkerPool::spawn() {
  PluginDescription description;
  std::unique_ptr<WorkerProcess> worker;
  try {
    worker =
        WorkerProcess::start({plugin_path_, name_, user_dir_, host_abi_, &config_}, description);
  } catch (const WorkerLoadRefusal& refusal) {
    throw WorkerFailure(WorkerFailure::Kind::crashed,
                        std::string("could not load the plugin again: ") + refusal.what());
  }
  std::vector<std::string> ids;
  for (const ModelInfo& model : description.models) ids.push_back(model.id);
  if (!model_ids_.empty() && ids != model_ids_) {
    throw WorkerFailure(WorkerFailure::Kind::crashed,
                        "the plugin file now offers other models than when it was loaded");
  }
  return worker;
}

PluginDescription WorkerPool::start() {
  PluginDescription description;
  std::unique_ptr<WorkerProcess> worker;
  try {
    worker =
        WorkerProcess::start({plugin_path_, name_, user_dir_, host_abi_, &config_}, description);
  } catch (const WorkerLoadRefusal& refusal) {
    const auto kind = static_cast<LoadErrorKind>(refusal.kind);
    throw PluginLoadError(refusal.kind <= static_cast<std::uint32_t>(LoadErrorKind::duplicate_model)
                              ? kind
                              : LoadErrorKind::load_failed,
                          refusal.what());
  } catch (const WorkerFailure& failure) {
    throw PluginLoadError(LoadErrorKind::load_failed,
                          "plugin '" + plugin_path_.string() + "': " + failure.what());
  }
  std::lock_guard lock(mutex_);
  name_ = description.plugin.name;
  for (const ModelInfo& model : description.models) model_ids_.push_back(model.id);
  idle_.push_back(std::move(worker));
  live_ = 1;
  return description;
}

std::string WorkerPool::quarantine_message_locked(const ModelInfo& model,
                                                  Clock::time_point now) const {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(quarantined_until_ - now).count();
  char window[32];
  std::snprintf(window, sizeof window, "%.1f", config_.crash_window.count() / 1000.0);
  return "model '" + model.id + "' is unavailable: plugin '" + name_ + "' crashed " +
         std::to_string(crashes_.size()) + " times within " + window +
         " s and is quarantined; retry after " + std::to_string(seconds) + " s";
}

void WorkerPool::note_crash_locked(Clock::time_point now) {
  ++total_crashes_;
  ++crashes_in_a_row_;
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > config_.crash_window) crashes_.pop_front();
  const auto doubling = std::min<std::size_t>(crashes_in_a_row_ - 1, 16);
  next_start_ = now + std::min<std::chrono::milliseconds>(config_.respawn_delay * (1LL << doubling),
                                                          config_.max_respawn_delay);
  if (config_.crash_limit > 0 && crashes_.size() >= config_.crash_limit) {
    quarantined_until_ = crashes_.front() + config_.crash_window;
    std::fprintf(stderr, "llmrt: plugin '%s' quarantined after %zu crashes\n", name_.c_str(),
                 crashes_.size());
  }
}

std::unique_ptr<WorkerProcess> WorkerPool::acquire(const ModelInfo& model,
                                                   std::optional<Clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now < quarantined_until_) {
      throw Error(ErrorCode::plugin_unavailable, quarantine_message_locked(model, now));
    }
    if (!idle_.empty()) {
      std::unique_ptr<WorkerProcess> worker = std::move(idle_.back());
      idle_.pop_back();
      return worker;
    }
    if (live_ < max_workers_ && now >= next_start_) {
      ++live_;
      lock.unlock();
      try {
        return spawn();
      } catch (const WorkerFailure& failure) {
        lock.lock();
        --live_;
        note_crash_locked(Clock::now());
        changed_.notify_all();
        throw Error(ErrorCode::plugin_crashed,
                    "model '" + model.id + "' (plugin '" + name_ +
                        "'): could not start a worker: " + failure.what());
      }
    }
    if (deadline && now >= *deadline) {
      throw Error(ErrorCode::timeout, "model '" + model.id + "' (plugin '" + name_ +
                                          "'): no worker was free within the call's time limit");
    }
    std::optional<Clock::time_point> wake;
    if (live_ < max_workers_) wake = next_start_;
    if (deadline) wake = wake ? std::min(*wake, *deadline) : *deadline;
    if (wake) {
      changed_.wait_until(lock, *wake);
    } else {
      changed_.wait(lock);
    }
  }
}

void WorkerPool::release(std::unique_ptr<WorkerProcess> worker, bool crashed) {
  bool reusable = false;
  {
    std::lock_guard lock(mutex_);
    if (worker->usable()) {
      if (!crashed) crashes_in_a_row_ = 0;
      idle_.push_back(std::move(worker));
      reusable = true;
    } else {
      --live_;
      if (crashed) note_crash_locked(Clock::now());
    }
  }
  // One free worker serves one waiter: waking them all (64 gateway threads) costs more than the
  // call. A lost worker changes what every waiter may do (respawn, quarantine): wake them all.
  if (reusable) {
    changed_.notify_one();
  } else {
    changed_.notify_all();
  }
  worker.reset();  // a dead worker is reaped outside the lock
}

llmrt_status WorkerPool::call(const ModelInfo& model, std::uint32_t index,
                              const llmrt_prompt& prompt, const llmrt_credential* credential,
                              const llmrt_sink& sink) {
  WorkerProcess::CallLimits limits;
  if (config_.call_timeout.count() > 0) limits.deadline = Clock::now() + config_.call_timeout;
  limits.stop_grace = config_.stop_grace;
  limits.max_output_bytes = config_.max_output_bytes;
  std::unique_ptr<WorkerProcess> worker = acquire(model, limits.deadline);
  try {
    const llmrt_status status = worker->call(index, prompt, credential, sink, limits);
    release(std::move(worker), false);
    return status;
  } catch (const WorkerFailure& failure) {
    const bool crashed = failure.kind() == WorkerFailure::Kind::crashed;
    release(std::move(worker), crashed);
    throw Error(code_for(failure.kind()), "model '" + model.id + "' (plugin '" + name_ +
                                              "'): " + failure.what() +
                                              (crashed ? "; the worker is being replaced" : ""));
  } catch (...) {
    release(std::move(worker), false);
    throw;
  }
}

PluginHealth WorkerPool::health() const {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = Clock::now();
  PluginHealth health;
  health.crashes = total_crashes_;
  health.workers = live_;
  std::size_t recent = 0;
  for (const auto& when : crashes_) recent += now - when <= config_.crash_window ? 1 : 0;
  if (now < quarantined_until_) {
    health.state = "quarantined";
    health.retry_after = std::chrono::ceil<std::chrono::seconds>(quarantined_until_ - now);
  } else if (recent > 0) {
    health.state = "degraded";
  }
  return health;
}

LoadedPlugin load_plugin_in_worker(const std::filesystem::path& path, const HostIdentity& host,
                                   const IsolationConfig& config) {
  auto pool = std::make_shared<WorkerPool>(path, host.user_dir, host.abi_version, config);
  PluginDescription description = pool->start();
  LoadedPlugin loaded;
  loaded.info = std::move(description.plugin);
  loaded.info.isolation = IsolationMode::process;
  for (std::size_t i = 0; i < description.models.size(); ++i) {
    ModelInfo& model = description.models[i];
    OptionsSchema schema;
    try {
      schema = OptionsSchema::parse(model.options_schema_json);
    } catch (const std::invalid_argument& error) {
      throw PluginLoadError(LoadErrorKind::invalid_descriptor,
                            "plugin '" + path.string() + "': model '" + model.id +
                                "' has an invalid options schema: " + error.what());
    }
    loaded.models.push_back(std::make_shared<ModelBinding>(std::move(model), std::move(schema),
                                                           pool, static_cast<std::uint32_t>(i)));
  }
  loaded.pool = std::move(pool);
  return loaded;
}

}  // namespace llmrt::isolation
