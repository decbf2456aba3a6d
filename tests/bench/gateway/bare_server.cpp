// llmrt_bench_bare_server: the floor that `llmrt serve` is measured against. A cpp-httplib server
// tuned exactly like the gateway (core/serve/gateway.cpp: TCP_NODELAY, keep-alive max count
// 100000, a pool of --threads workers, the listen backlog raised to SOMAXCONN, the same body limit
// and timeouts) whose only route, POST /v1/chat/completions, answers with the body the gateway
// gives for the echo model: a chat.completion object with the same content (the prompt, then
// "\nkey-sha256: " and the first 12 hex digits of the key's SHA-256), the same fields in the same
// order, and the same headers (X-Llmrt-Key-Source, and an X-Request-Id of the same shape). The
// body and the request id are made once at start, so the replies have the same size and the
// difference between the two servers is what the gateway does per request (parsing, the runtime,
// the plugin call, building the reply).
//
//   llmrt_bench_bare_server [--port 0] [--threads 64] [--prompt TEXT] [--key KEY]
//                           [--max-body-bytes N] [--timeout S]
//
// Listens on 127.0.0.1 only; prints "listening on http://127.0.0.1:PORT" on stdout once it accepts
// connections, and stops on SIGINT or SIGTERM. The default prompt and key are those of
// post_chat.lua.
#include <httplib.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace {

namespace json = boost::json;

// What echo receives for post_chat.lua's messages: the gateway passes the conversation (ABI 2.2)
// and echo writes the system prompt as a "[system: ...]" line before the text.
constexpr const char* kDefaultPrompt =
    "[system: You are a helpful assistant.]\n"
    "Write one short sentence about the sea, the wind and the light over the harbour.";
constexpr const char* kDefaultKey = "sk-bench-0123456789abcdef0123456789abcdef";

struct Options {
  int port = 0;
  std::size_t threads = 64;  // llmrt serve's default, and run_gateway_bench.sh's --threads
  std::string prompt = kDefaultPrompt;
  std::string key = kDefaultKey;
  std::size_t max_body_bytes = 1 << 20;  // llmrt serve's default
  int timeout_seconds = 30;              // llmrt serve's default read and write timeout
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "llmrt_bench_bare_server: %s\n"
               "usage: llmrt_bench_bare_server [--port N] [--threads N] [--prompt TEXT] "
               "[--key KEY] [--max-body-bytes N] [--timeout S]\n",
               message);
  std::exit(2);
}

unsigned long long number(const char* text, const char* name) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage((std::string(name) + " needs a number").c_str());
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + std::string(name)).c_str());
    const char* value = argv[++i];
    if (name == "--port") {
      options.port = static_cast<int>(number(value, "--port"));
    } else if (name == "--threads") {
      options.threads = number(value, "--threads");
    } else if (name == "--prompt") {
      options.prompt = value;
    } else if (name == "--key") {
      options.key = value;
    } else if (name == "--max-body-bytes") {
      options.max_body_bytes = number(value, "--max-body-bytes");
    } else if (name == "--timeout") {
      options.timeout_seconds = static_cast<int>(number(value, "--timeout"));
    } else {
      usage(("unknown option " + std::string(name)).c_str());
    }
  }
  return options;
}

// What the echo plugin answers when `key` reached it (plugins/echo/echo.cpp).
std::string echo_content(const std::string& prompt, const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  const bool needs_newline = !prompt.empty() && prompt.back() != '\n';
  return prompt + (needs_newline ? "\nkey-sha256: " : "key-sha256: ") + std::string(hex, 12);
}

// `prefix` and 24 random hex digits, like the gateway's completion and request ids.
std::string random_id(const char* prefix) {
  unsigned char random[12];
  if (RAND_bytes(random, sizeof random) != 1) {
    for (auto& byte : random) byte = 0;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  for (unsigned char byte : random) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0x0F];
  }
  return id;
}

// The gateway's completion_body (core/serve/openai_protocol.cpp), field for field.
std::string completion_body(const std::string& content) {
  const std::string id = random_id("chatcmpl-");
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  json::object body;
  body["id"] = id;
  body["object"] = "chat.completion";
  body["created"] = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  body["model"] = "echo";
  body["choices"] = json::array{
      json::object{{"index", 0},
                   {"message", json::object{{"role", "assistant"}, {"content", content}}},
                   {"finish_reason", "stop"}}};
  body["usage"] = json::object{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}};
  return json::serialize(body);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);

  // Only the watcher thread below takes the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string body = completion_body(echo_content(options.prompt, options.key));
  const std::string request_id = random_id("req_");

  httplib::Server server;
  const std::size_t threads = std::max<std::size_t>(options.threads, 2);  // as the gateway
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);
  std::atomic<int> listen_socket{-1};
  server.set_socket_options([&listen_socket](socket_t socket) {
    httplib::default_socket_options(socket);
    int none = -1;
    listen_socket.compare_exchange_strong(none, static_cast<int>(socket));
  });
  server.set_keep_alive_max_count(100000);
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(std::chrono::seconds(options.timeout_seconds));
  server.set_write_timeout(std::chrono::seconds(options.timeout_seconds));
  server.Post("/v1/chat/completions",
              [&body, &request_id](const httplib::Request&, httplib::Response& response) {
                response.set_header("X-Request-Id", request_id);
                response.set_header("X-Llmrt-Key-Source", "per-call");
                response.set_content(body, "application/json");
              });

  const int port = options.port == 0
                       ? server.bind_to_any_port("127.0.0.1")
                       : (server.bind_to_port("127.0.0.1", options.port) ? options.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "llmrt_bench_bare_server: cannot listen on 127.0.0.1:%d\n", options.port);
    return 1;
  }
  // Debian's cpp-httplib listens with a backlog of 5; the gateway raises it the same way.
  if (listen_socket >= 0) ::listen(listen_socket, SOMAXCONN);

  // stop() does nothing before the accept loop runs: repeated until listen_after_bind() returns.
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    for (int i = 0; i < 2000 && !finished; ++i) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::thread announce([&] {
    // Announce once the accept loop runs (bounded: 10 s).
    for (int i = 0; i < 10000 && !server.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::printf("listening on http://127.0.0.1:%d\n", port);
    std::fflush(stdout);
  });
  server.listen_after_bind();
  finished = true;
  announce.join();
  pthread_kill(watcher.native_handle(), SIGTERM);  // serve() may also return on its own
  watcher.join();
  return 0;
}
