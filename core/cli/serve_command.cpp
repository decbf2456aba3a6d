// llmrt serve: runs the gateway until SIGINT or SIGTERM, then lets in-flight requests finish for
// at most --shutdown-grace seconds, and exits even if a plugin call never returns.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "cli_output.hpp"
#include "commands.hpp"
#include "gateway.hpp"
#include "isolation_options.hpp"

namespace llmrt::cli {
namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0 + 0.5));
}

serve::GatewayConfig gateway_config(const ServeArgs& args) {
  serve::GatewayConfig config;
  config.host = args.host;
  config.port = args.port;
  config.require_client_key = args.require_client_key;
  config.max_body_bytes = args.max_body_bytes;
  config.max_header_bytes = args.max_header_bytes;
  config.max_header_count = args.max_header_count;
  config.max_connections = args.max_connections;
  config.max_connections_per_ip = args.max_connections_per_ip;
  config.max_concurrent = args.max_concurrent;
  config.max_concurrent_per_model = args.max_concurrent_per_model;
  config.max_waiting = args.max_waiting;
  config.max_wait = millis(args.max_wait_seconds);
  config.max_reply_bytes = args.max_reply_bytes;
  config.stream_buffer_bytes = args.stream_buffer_bytes;
  config.threads = args.threads;
  config.header_timeout = millis(args.header_timeout_seconds);
  config.body_timeout =
      millis(args.timeout_seconds > 0 ? args.timeout_seconds : args.body_timeout_seconds);
  config.idle_timeout = millis(args.idle_timeout_seconds);
  config.write_timeout =
      millis(args.timeout_seconds > 0 ? args.timeout_seconds : args.write_timeout_seconds);
  config.request_timeout = millis(args.request_timeout_seconds);
  config.access_log = args.quiet ? nullptr : stderr;
  config.master_key_file = args.master_key_file;
  config.previous_master_key_file = args.previous_master_key_file;
  config.tenants_file = args.tenants_file;
  config.deny_list_file = args.deny_list_file;
  config.allow_raw_client_keys = args.allow_raw_client_keys;
  config.key_version_sticky = args.key_version_sticky;
  config.audit_log_file = args.audit_log;
  config.audit_key_file = args.audit_key_file;
  return config;
}

}  // namespace

int run_serve(const ServeArgs& args) {
  // Block the stop signals before any thread starts, so that every thread inherits the mask and
  // only the watcher below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The gateway runs third parties' plugins for many tenants: in worker processes by default. A
  // call in a worker is limited by --call-timeout, which defaults to --request-timeout: the gateway
  // answers 504 at the earlier of the two (docs/serve.md, "Deadlines and plugin isolation").
  RuntimeConfig runtime_config =
      cli_runtime_config(IsolationMode::process, args.request_timeout_seconds);
  runtime_config.async_threads = args.max_concurrent;  // every admitted call runs at once
  runtime_config.async_queue_limit = args.max_concurrent + args.max_waiting;
  // An idle worker waiting for the next call gives the cores to the I/O threads: measured 14%
  // more requests/s than holding a core (docs/performance.md, "The async hop").
  runtime_config.async_idle_spin.yield = true;
  // A worker is held for a call's whole round trip, waiting for a core as often as not when the
  // gateway is busy: 8 workers per core (at most one per admitted call) served 34-37k echo
  // requests/s at 64 connections on 2 cores, against 21-23k with one per core (performance.md).
  // They start on demand, ~0.7 MiB of private memory each.
  if (runtime_config.isolation.workers_per_plugin == 0) {
    runtime_config.isolation.workers_per_plugin = std::min<std::size_t>(
        args.max_concurrent, 8 * std::max(1u, std::thread::hardware_concurrency()));
  }
  auto runtime = std::make_unique<Runtime>(runtime_config);
  for (const auto& error : runtime->load_errors()) {
    print_warning("skipped plugin: " + error.message);
  }

  auto gateway = std::make_unique<serve::Gateway>(*runtime, gateway_config(args));
  const int port = gateway->bind();
  std::fprintf(stderr, "llmrt: serving %zu models on http://%s:%d (Ctrl-C stops)\n",
               runtime->models().size(), args.host.c_str(), port);
  std::fflush(stderr);

  std::mutex mutex;
  std::condition_variable changed;
  bool serve_returned = false;  // from here on, `gateway` is being (or has been) destroyed
  bool finished = false;        // the gateway and the runtime are gone
  std::thread watcher([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::unique_lock lock(mutex);
    if (finished) return;
    std::fprintf(stderr, "llmrt: stopping (finishing requests in flight, at most %g s)\n",
                 args.shutdown_grace_seconds);
    std::fflush(stderr);
    if (!serve_returned) gateway->stop();
    if (changed.wait_for(lock, millis(args.shutdown_grace_seconds), [&] { return finished; })) {
      return;
    }
    // A plugin call that never returns must not keep the process: nothing is left to flush but
    // the logs, which are written line by line.
    std::fprintf(stderr,
                 "llmrt: model calls still running after --shutdown-grace %g s; exiting without "
                 "them\n",
                 args.shutdown_grace_seconds);
    std::fflush(stderr);
    std::_Exit(kExitFailure);
  });
  gateway->serve();
  {
    std::lock_guard lock(mutex);
    serve_returned = true;
  }
  gateway.reset();  // waits for the calls still running
  runtime.reset();
  {
    std::lock_guard lock(mutex);
    finished = true;
  }
  changed.notify_all();
  // serve() also returns if the server fails; wake the watcher so it can be joined.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  return kExitOk;
}

}  // namespace llmrt::cli
