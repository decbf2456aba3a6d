#include "gateway.hpp"

#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <optional>
#include <set>

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
          // An operator who wrote a key where its name goes must not find it in the logs.
          const std::string hint =
              looks_like_a_key(entry)
                  ? "; the tenants file holds names of keys-file entries, never keys"
                  : "; calls that need it will fail until it is added (llmrt keys set " + entry +
                        ")";
          context.warn("the tenants file names the stored key " + quoted_key_name(entry) +
                       ", which is not in " + context.runtime.keys_file_path().string() + hint);
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

namespace {

std::size_t per_model_default(const GatewayConfig& config) {
  if (config.max_concurrent_per_model != 0) return config.max_concurrent_per_model;
  return std::max<std::size_t>(1, config.max_concurrent - config.max_concurrent / 4);
}

http::ServerLimits limits_of(const GatewayConfig& config) {
  http::ServerLimits limits;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_header_count = config.max_header_count;
  limits.max_body_bytes = config.max_body_bytes;
  limits.max_connections = config.max_connections;
  limits.max_connections_per_ip = config.max_connections_per_ip;
  limits.output_buffer_bytes = config.stream_buffer_bytes;
  limits.max_pipelined_bytes = std::max<std::size_t>(config.max_header_bytes, 16 * 1024);
  limits.header_timeout = config.header_timeout;
  limits.body_timeout = config.body_timeout;
  limits.idle_timeout = config.idle_timeout;
  limits.write_timeout = config.write_timeout;
  limits.io_threads = std::max<std::size_t>(config.threads, 1);
  return limits;
}

http::Reply json_reply(int status, std::string body) {
  http::Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

std::string refusal_message(const http::Refusal& refusal, const GatewayConfig& config) {
  const std::string reason = refusal.reason;
  if (reason == "header_limit") {
    return "the request line and headers are larger than " +
           std::to_string(config.max_header_bytes) + " bytes";
  }
  if (reason == "header_count") {
    return "the request has more than " + std::to_string(config.max_header_count) + " headers";
  }
  if (reason == "body_limit") {
    return "the request body is larger than " + std::to_string(config.max_body_bytes) + " bytes";
  }
  if (reason == "duplicate_authorization") {
    return "the request has more than one Authorization header";
  }
  if (reason == "header_timeout") return "the request headers did not arrive in time";
  if (reason == "body_timeout") return "the request body did not arrive in time";
  return "the request is not valid HTTP/1.1";
}

}  // namespace

struct Gateway::State {
  State(const Runtime& runtime, GatewayConfig config)
      : context{runtime,
                config,
                Admission(config.max_concurrent, per_model_default(config), config.max_waiting),
                AccessLog(config.access_log),
                {}},
        server(
            limits_of(config),
            [this](http::Request request, std::shared_ptr<http::Exchange> exchange) {
              route(std::move(request), std::move(exchange));
            },
            [this](const http::Refusal& refusal) { return refuse(refusal); }),
        calls() {
    context.calls = &calls;
    context.server = &server;
  }

  void route(http::Request request, std::shared_ptr<http::Exchange> exchange);
  http::Reply refuse(const http::Refusal& refusal);
  std::string health_body() const;

  GatewayContext context;
  http::Server server;
  // Destroyed first: it waits for calls whose completion (on a runtime worker, answering through
  // the server's connections) has not finished, while the server and the context are still whole.
  CallsInFlight calls;
  int port = -1;
};

std::string Gateway::State::health_body() const {
  const Admission::Snapshot slots = context.admission.snapshot();
  const http::Counters connections = server.counters();
  // Plugins whose workers crashed lately ("degraded") or that are quarantined: operators and
  // monitors see them here, with what `llmrt plugins` shows.
  json::array unhealthy;
  for (const PluginInfo& plugin : context.runtime.plugins()) {
    if (plugin.health.state == "ok") continue;
    unhealthy.push_back(json::object{{"name", plugin.name},
                                     {"state", plugin.health.state},
                                     {"crashes", plugin.health.crashes},
                                     {"workers", plugin.health.workers},
                                     {"retry_after_seconds", plugin.health.retry_after.count()}});
  }
  const char* status = !slots.admittable ? "saturated" : unhealthy.empty() ? "ok" : "degraded";
  return json::serialize(json::object{{"status", status},
                                      {"unhealthy_plugins", std::move(unhealthy)},
                                      {"models", context.model_options.size()},
                                      {"busy_slots", slots.active},
                                      {"max_concurrent", slots.max_active},
                                      {"waiting", slots.waiting},
                                      {"calls_in_flight", calls.count()},
                                      {"connections", connections.connections},
                                      {"refused_connections", connections.refused_connections},
                                      {"admittable", slots.admittable}});
}

void Gateway::State::route(http::Request request, std::shared_ptr<http::Exchange> exchange) {
  const auto log = [&](int status) {
    context.access_log.write(
        {request.method, request.path, "", status, "", false, std::chrono::steady_clock::now()});
  };
  if (request.path == "/v1/chat/completions" && request.method == "POST") {
    handle_chat_completions(context, std::move(request), std::move(exchange));
    return;
  }
  if (request.method == "GET" && request.path == "/healthz") {
    log(200);
    exchange->respond(json_reply(200, health_body()));
    return;
  }
  if (request.method == "GET" && request.path == "/readyz") {
    // For a load balancer: 503 while no chat request could be admitted.
    const bool ready = context.admission.snapshot().admittable;
    log(ready ? 200 : 503);
    http::Reply reply = json_reply(ready ? 200 : 503, health_body());
    if (!ready) reply.headers.emplace_back("Retry-After", "1");
    exchange->respond(std::move(reply));
    return;
  }
  if (request.method == "GET" && request.path == "/v1/models") {
    log(200);
    exchange->respond(json_reply(200, models_body(context.runtime)));
    return;
  }
  log(404);
  exchange->respond(json_reply(
      404, error_body("no route for " + request.method + " " + path_without_keys(request.path),
                      "invalid_request_error", "", "")));
}

http::Reply Gateway::State::refuse(const http::Refusal& refusal) {
  context.access_log.write({refusal.method, refusal.path, "", refusal.status, "", false,
                            std::chrono::steady_clock::now()});
  const std::string code = refusal.reason == "duplicate_authorization" ? "duplicate_authorization"
                           : refusal.status == 431                     ? "headers_too_large"
                           : refusal.status == 413                     ? "body_too_large"
                           : refusal.status == 408                     ? "request_timeout"
                                                                       : "";
  return json_reply(refusal.status, error_body(refusal_message(refusal, context.config),
                                               "invalid_request_error", code, ""));
}

Gateway::Gateway(const Runtime& runtime, GatewayConfig config)
    : state_(std::make_unique<State>(runtime, std::move(config))) {
  GatewayContext& context = state_->context;
  for (const auto& model : runtime.models()) {
    context.model_options.emplace(model.id, option_names(model.options_schema_json));
  }
  configure_security(context);
}

Gateway::~Gateway() {
  stop();
}

int Gateway::bind() {
  const GatewayConfig& config = state_->context.config;
  try {
    state_->port = state_->server.bind(config.host, config.port);
  } catch (const std::exception& error) {
    throw Error(ErrorCode::io, "cannot listen on " + config.host + ":" +
                                   std::to_string(config.port) + " (" + error.what() +
                                   "; address in use, or not an address of this machine)");
  }
  return state_->port;
}

void Gateway::serve() {
  if (state_->port < 0) bind();
  state_->server.serve();
}

void Gateway::stop() {
  state_->server.stop();
}

std::size_t Gateway::calls_in_flight() const {
  return state_->calls.count();
}

}  // namespace llmrt::serve
