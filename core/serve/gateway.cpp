#include "gateway.hpp"

#include <sys/socket.h>

#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "gateway_context.hpp"
#include "openai_protocol.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

std::set<std::string> option_names(const std::string& schema_json) {
  std::set<std::string> names;
  boost::system::error_code ec;
  const json::value schema = json::parse(schema_json, ec);
  if (ec || !schema.is_object()) return names;
  const json::value* properties = schema.as_object().if_contains("properties");
  if (properties == nullptr || !properties->is_object()) return names;
  for (const auto& property : properties->as_object()) names.emplace(property.key());
  return names;
}

std::string models_body(const Runtime& runtime) {
  json::array data;
  for (const auto& model : runtime.models()) {
    data.push_back(json::object{
        {"id", model.id}, {"object", "model"}, {"created", 0}, {"owned_by", model.plugin_name}});
  }
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

// Session keys, tenants, deny list, audit key and audit log, from the files the config names.
void configure_security(GatewayContext& context) {
  const GatewayConfig& config = context.config;
  const bool session_keys = !config.master_key_file.empty();
  if (session_keys != !config.tenants_file.empty()) {
    throw Error(ErrorCode::usage,
                "session keys need both a master key file and a tenants file (--master-key-file "
                "and --tenants-file)");
  }
  if (!session_keys && (!config.previous_master_key_file.empty() ||
                        !config.deny_list_file.empty() || config.allow_raw_client_keys)) {
    throw Error(ErrorCode::usage,
                "--previous-master-key-file, --deny-list-file and --allow-raw-client-keys only "
                "apply to session keys: give --master-key-file and --tenants-file too");
  }
  std::optional<SecretBytes> master;
  if (session_keys) {
    master = read_secret_key_file(config.master_key_file, "master key");
    std::optional<SecretBytes> previous;
    if (!config.previous_master_key_file.empty()) {
      previous = read_secret_key_file(config.previous_master_key_file, "previous master key");
    }
    context.sessions = std::make_unique<SessionAuth>(
        SessionAuth{SessionKeys(*master, previous ? &*previous : nullptr),
                    Tenants::load(config.tenants_file), nullptr, config.allow_raw_client_keys});
    if (!config.deny_list_file.empty()) {
      context.sessions->deny_list =
          std::make_unique<DenyList>(config.deny_list_file, config.warning_log);
    }
    // A tenant entry missing from the keys file fails that tenant's calls: say so now.
    try {
      const std::vector<std::string> stored = KeysFile(context.runtime.keys_file_path()).names();
      for (const std::string& entry : context.sessions->tenants.entries()) {
        if (!std::binary_search(stored.begin(), stored.end(), entry)) {
          context.warn("the tenants file names the stored key '" + entry + "', which is not in " +
                       context.runtime.keys_file_path().string() +
                       "; calls that need it will fail until it is added (llmrt keys set " + entry +
                       ")");
        }
      }
    } catch (const Error& error) {
      context.warn(std::string("cannot check the tenants' stored keys: ") + error.what());
    }
  }
  if (!config.audit_key_file.empty()) {
    const SecretBytes audit_secret = read_secret_key_file(config.audit_key_file, "audit key");
    context.fingerprinter =
        std::make_unique<KeyFingerprinter>(derive_subkey(audit_secret, "llmrt audit"));
  } else if (master) {
    context.fingerprinter =
        std::make_unique<KeyFingerprinter>(derive_subkey(*master, "llmrt audit"));
  } else if (!config.audit_log_file.empty()) {
    context.fingerprinter = std::make_unique<KeyFingerprinter>(SecretBytes::random());
  }
  if (!config.audit_log_file.empty()) {
    context.audit = std::make_unique<AuditLog>(config.audit_log_file, config.warning_log);
  }
  if (config.key_version_sticky) context.sticky_versions = std::make_unique<StickyKeyVersions>();
}

}  // namespace

std::int64_t GatewayContext::now_unix() const {
  if (config.clock) return config.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string GatewayContext::fingerprint(const Key& key) const {
  return fingerprinter ? fingerprinter->fingerprint(key.reveal()) : key.fingerprint();
}

void GatewayContext::warn(const std::string& message) const {
  if (config.warning_log == nullptr) return;
  const std::string line = "llmrt: warning: " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), config.warning_log);
  std::fflush(config.warning_log);
}

struct Gateway::State {
  std::atomic<int> listen_socket{-1};
  std::atomic<bool> stop_requested{false};
  State(const Runtime& runtime, GatewayConfig config)
      : context{runtime,
                config,
                Admission(config.max_concurrent, config.max_waiting, config.max_wait),
                AccessLog(config.access_log),
                {}} {}

  GatewayContext context;
  httplib::Server server;
  int port = -1;
};

Gateway::Gateway(const Runtime& runtime, GatewayConfig config)
    : state_(std::make_unique<State>(runtime, std::move(config))) {
  GatewayContext& context = state_->context;
  for (const auto& model : runtime.models()) {
    context.model_options.emplace(model.id, option_names(model.options_schema_json));
  }
  configure_security(context);
  httplib::Server& server = state_->server;
  const std::size_t threads = std::max<std::size_t>(context.config.threads, 2);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Without TCP_NODELAY, Nagle and delayed ACKs hold each small reply ~40 ms.
  server.set_tcp_nodelay(true);
  // Remember the listening socket: Debian's cpp-httplib listens with a backlog of 5, which drops
  // connections when many clients connect at once; bind() raises it.
  server.set_socket_options([state = state_.get()](socket_t socket) {
    httplib::default_socket_options(socket);
    int none = -1;
    state->listen_socket.compare_exchange_strong(none, static_cast<int>(socket));
  });
  server.set_keep_alive_max_count(100000);
  server.set_payload_max_length(context.config.max_body_bytes);
  server.set_read_timeout(context.config.read_timeout);
  server.set_write_timeout(context.config.write_timeout);

  server.Get("/healthz", [&context](const httplib::Request& request, httplib::Response& response) {
    response.set_content(
        json::serialize(json::object{{"status", "ok"}, {"models", context.model_options.size()}}),
        "application/json");
    context.access_log.write(
        {request.method, request.path, "", 200, "", false, std::chrono::steady_clock::now()});
  });
  server.Get(
      "/v1/models", [&context](const httplib::Request& request, httplib::Response& response) {
        response.set_content(models_body(context.runtime), "application/json");
        context.access_log.write(
            {request.method, request.path, "", 200, "", false, std::chrono::steady_clock::now()});
      });
  server.Post("/v1/chat/completions",
              [&context](const httplib::Request& request, httplib::Response& response) {
                handle_chat_completions(context, request, response);
              });
  // Every other error (unknown route 404, body too large 413, ...) in OpenAI's error shape.
  server.set_error_handler([&context](const httplib::Request& request,
                                      httplib::Response& response) {
    if (!response.body.empty()) return;
    const std::string message =
        response.status == 404   ? "no route for " + request.method + " " + request.path
        : response.status == 413 ? "the request body is larger than " +
                                       std::to_string(context.config.max_body_bytes) + " bytes"
                                 : "the request could not be served";
    response.set_content(error_body(message, "invalid_request_error", "", ""), "application/json");
    context.access_log.write({request.method, request.path, "", response.status, "", false,
                              std::chrono::steady_clock::now()});
  });
}

Gateway::~Gateway() {
  stop();
}

int Gateway::bind() {
  const GatewayConfig& config = state_->context.config;
  state_->port = config.port == 0
                     ? state_->server.bind_to_any_port(config.host)
                     : (state_->server.bind_to_port(config.host, config.port) ? config.port : -1);
  if (state_->port >= 0 && state_->listen_socket >= 0) ::listen(state_->listen_socket, SOMAXCONN);
  if (state_->port < 0) {
    throw Error(ErrorCode::io, "cannot listen on " + config.host + ":" +
                                   std::to_string(config.port) +
                                   " (address in use, or not an address of this machine)");
  }
  return state_->port;
}

void Gateway::serve() {
  if (state_->port < 0) bind();
  if (state_->stop_requested) return;
  // httplib's stop() does nothing until the accept loop runs: a stop() that lands between the
  // check above and that moment is delivered again once the loop is up.
  std::atomic<bool> finished{false};
  std::thread redeliver([this, &finished] {
    while (!finished && !state_->server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (state_->stop_requested) state_->server.stop();
  });
  state_->server.listen_after_bind();
  finished = true;
  redeliver.join();
}

void Gateway::stop() {
  state_->stop_requested = true;
  state_->server.stop();
}

}  // namespace llmrt::serve
