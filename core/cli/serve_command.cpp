// llmrt serve: runs the gateway until SIGINT or SIGTERM, then lets in-flight requests finish.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "cli_output.hpp"
#include "commands.hpp"
#include "gateway.hpp"
#include "isolation_options.hpp"

namespace llmrt::cli {

int run_serve(const ServeArgs& args) {
  // Block the stop signals before any thread starts, so that every thread inherits the mask and
  // only the watcher below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The gateway runs third parties' plugins for many tenants: in worker processes by default.
  RuntimeConfig runtime_config = cli_runtime_config(IsolationMode::process);
  runtime_config.async_threads = args.max_concurrent;  // streaming calls run on the pool
  runtime_config.async_queue_limit = args.max_concurrent + args.max_waiting;
  Runtime runtime(runtime_config);
  for (const auto& error : runtime.load_errors()) print_warning("skipped plugin: " + error.message);

  serve::GatewayConfig config;
  config.host = args.host;
  config.port = args.port;
  config.require_client_key = args.require_client_key;
  config.max_body_bytes = args.max_body_bytes;
  config.max_concurrent = args.max_concurrent;
  config.max_waiting = args.max_waiting;
  config.threads = args.threads;
  config.read_timeout = std::chrono::seconds(args.timeout_seconds);
  config.write_timeout = std::chrono::seconds(args.timeout_seconds);
  config.access_log = args.quiet ? nullptr : stderr;
  config.master_key_file = args.master_key_file;
  config.previous_master_key_file = args.previous_master_key_file;
  config.tenants_file = args.tenants_file;
  config.deny_list_file = args.deny_list_file;
  config.allow_raw_client_keys = args.allow_raw_client_keys;
  config.audit_log_file = args.audit_log;
  config.audit_key_file = args.audit_key_file;
  serve::Gateway gateway(runtime, config);
  const int port = gateway.bind();
  std::fprintf(stderr, "llmrt: serving %zu models on http://%s:%d (Ctrl-C stops)\n",
               runtime.models().size(), args.host.c_str(), port);
  std::fflush(stderr);

  std::thread watcher([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::fprintf(stderr, "llmrt: stopping (finishing requests in flight)\n");
    gateway.stop();
  });
  gateway.serve();
  // serve() also returns if the server fails; wake the watcher so it can be joined.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  return kExitOk;
}

}  // namespace llmrt::cli
