#include <llmrt/runtime.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "model_instance.hpp"
#include "registry.hpp"
#include "safe_file.hpp"
#include "thread_pool.hpp"

namespace llmrt {

class RuntimeState {
 public:
  explicit RuntimeState(RuntimeConfig config);

  RuntimeConfig config;
  std::filesystem::path user_dir;
  std::shared_ptr<const CallContext> context;
  std::shared_ptr<ThreadPool> pool;
  Registry registry;
  // The shared instance of each model get_model() was asked for, made on first request (a
  // Runtime listing 1000 models makes none of them for `llmrt models`).
  mutable std::mutex shared_mutex;
  mutable std::map<std::string, std::shared_ptr<ModelInstance>, std::less<>> shared_instances;

  std::shared_ptr<ModelInstance> shared_instance(std::string_view id) const {
    std::shared_ptr<LazyModel> model = binding(id);  // throws a clear error for an unknown id
    std::lock_guard lock(shared_mutex);
    auto found = shared_instances.find(id);
    if (found == shared_instances.end()) {
      std::string key = model->info().id;
      auto instance = std::make_shared<ModelInstance>(std::move(model), context, pool,
                                                      OptionValues{}, std::nullopt);
      found = shared_instances.emplace(std::move(key), std::move(instance)).first;
    }
    return found->second;
  }

  std::shared_ptr<LazyModel> binding(std::string_view id) const {
    auto binding = registry.find(id);
    if (!binding) {
      std::string message = "unknown model '" + std::string(id) + "'";
      if (const std::size_t errors = registry.error_count(); errors > 0) {
        message +=
            " (" + std::to_string(errors) + " plugin(s) failed to load; see `llmrt plugins`)";
      }
      throw Error(ErrorCode::model_not_found, message + "; list models with `llmrt models`");
    }
    return binding;
  }
};

namespace {

EnvironmentLookup environment_or_default(EnvironmentLookup environment) {
  if (environment) return environment;
  return [](const char* name) -> const char* { return std::getenv(name); };
}

// <directory of libllmrt>/llmrt/plugins: the same relative place in the build and install trees.
std::filesystem::path bundled_plugin_dir() {
  const std::filesystem::path library_dir = boost::dll::this_line_location().parent_path().string();
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::weakly_canonical(library_dir, ec);
  return (ec ? library_dir : dir) / LLMRT_PLUGIN_SUBDIR;
}

std::vector<std::filesystem::path> split_path_list(const char* list) {
  std::vector<std::filesystem::path> paths;
  if (list == nullptr) return paths;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ':')) {
    if (!item.empty()) paths.emplace_back(item);
  }
  return paths;
}

// The plugin cache of lazy mode, read now; null in eager mode or when there is none.
std::shared_ptr<plugin_cache::PluginCache> open_plugin_cache(const RuntimeConfig& config) {
  if (config.plugin_loading != PluginLoading::lazy) return nullptr;
  std::optional<std::filesystem::path> file = config.plugin_cache_file;
  // (Called before the constructor's body sets the default environment.)
  if (!file) file = plugin_cache::default_cache_file(environment_or_default(config.environment));
  if (!file || file->empty()) return nullptr;
  auto cache = std::make_shared<plugin_cache::PluginCache>(*file);
  if (config.refresh_plugin_cache) cache->forget_all();
  return cache;
}

std::function<void(std::string_view)> error_log_or_default(
    std::function<void(std::string_view)> error_log) {
  if (error_log) return error_log;
  return [](std::string_view line) {
    std::fprintf(stderr, "llmrt: error: %.*s\n", static_cast<int>(line.size()), line.data());
  };
}

std::size_t worker_count(std::size_t configured) {
  if (configured > 0) return configured;
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

}  // namespace

RuntimeState::RuntimeState(RuntimeConfig given)
    : config(std::move(given)),
      user_dir(config.user_dir ? *config.user_dir
                               : default_user_dir(environment_or_default(config.environment))),
      registry(HostIdentity{user_dir.string()}, config.isolation,
               std::make_shared<PluginLedger>(open_plugin_cache(config),
                                              error_log_or_default(config.error_log)),
               config.plugin_loading == PluginLoading::lazy) {
  config.environment = environment_or_default(std::move(config.environment));
  // credentials.json is read once, here; a file that cannot be used does not stop the runtime: its
  // error is thrown by the calls that need it (see docs/keys.md#credentialsjson).
  context = std::make_shared<CallContext>(CallContext{
      config.environment, KeysFile(user_dir / "keys.json", config.keys_file_caching),
      credentials::CredentialSources::load(user_dir / "credentials.json"),
      std::make_shared<key_versions::VersionDraw>(config.key_version_seed),
      config.error_log ? config.error_log
                       : std::function<void(std::string_view)>([](std::string_view line) {
                           std::fprintf(stderr, "llmrt: error: %.*s\n",
                                        static_cast<int>(line.size()), line.data());
                         })});
  pool = std::make_shared<ThreadPool>(
      worker_count(config.async_threads), std::max<std::size_t>(1, config.async_queue_limit),
      SpinPolicy{config.async_idle_spin.limit, config.async_idle_spin.yield},
      WakePolicy{config.async_active_workers, config.async_starvation_delay});
  if (config.load_bundled_plugins) registry.load_directory(bundled_plugin_dir(), false);
  if (config.use_plugin_path_env) {
    for (const auto& dir : split_path_list(config.environment("LLMRT_PLUGIN_PATH"))) {
      registry.load_directory(dir, true);
    }
  }
  if (config.load_user_plugins) registry.load_directory(user_dir / "plugins", false);
  for (const auto& path : config.plugin_paths) registry.load_path(path);
  registry.finish();
}

Runtime::Runtime(RuntimeConfig config)
    : state_(std::make_shared<RuntimeState>(std::move(config))) {}

Runtime::~Runtime() {
  // Explicitly, not when the last reference to the pool goes: a prompt_async racing with this may
  // hold the pool for a moment, and the pool must not then be joined from wherever that ends.
  state_->pool->shutdown();
}

Model Runtime::get_model(std::string_view id) const {
  return Model(state_->shared_instance(id));
}

Model Runtime::create_model(std::string_view id, ModelSettings settings) const {
  auto binding = state_->binding(id);
  // Settings are checked now, so that a bad one fails here rather than on every call.
  binding->schema().build(binding->info().id, settings.options, {}, {});  // no load needed
  if (settings.key) validate_key(settings.key->reveal(), "the key given to create_model");
  return Model(std::make_shared<ModelInstance>(std::move(binding), state_->context, state_->pool,
                                               std::move(settings.options),
                                               std::move(settings.key)));
}

std::vector<ModelInfo> Runtime::models() const {
  std::vector<ModelInfo> models;
  for (const auto& binding : state_->registry.models()) models.push_back(binding->info());
  return models;
}

std::vector<PluginInfo> Runtime::plugins() const {
  return state_->registry.plugins();
}

std::vector<LoadError> Runtime::load_errors() const {
  return state_->registry.errors();
}

RuntimeStats Runtime::stats() const {
  return {state_->registry.loaded_count()};
}

const std::filesystem::path& Runtime::user_dir() const {
  return state_->user_dir;
}

std::filesystem::path Runtime::keys_file_path() const {
  return state_->context->keys_file.path();
}

const KeysFile& Runtime::keys_file() const {
  return state_->context->keys_file;
}

std::filesystem::path Runtime::credentials_file_path() const {
  return state_->context->credentials->path();
}

std::string Runtime::default_model_id() const {
  std::ifstream file(state_->user_dir / "default_model.txt");
  std::string id;
  if (file && std::getline(file, id)) {
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    if (!id.empty()) return id;
  }
  return "echo";
}

void Runtime::set_default_model_id(std::string_view id) const {
  state_->binding(id);
  make_private_directories(state_->user_dir, ErrorCode::io);
  const auto path = state_->user_dir / "default_model.txt";
  const auto temp = state_->user_dir / "default_model.txt.tmp";
  {
    std::ofstream file(temp, std::ios::trunc);
    file << id << '\n';
    if (!file.flush()) {
      throw Error(ErrorCode::io, "cannot write '" + temp.string() + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) throw Error(ErrorCode::io, "cannot write '" + path.string() + "': " + ec.message());
}

}  // namespace llmrt
