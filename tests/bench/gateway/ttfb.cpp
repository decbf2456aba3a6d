// llmrt_bench_ttfb: what the gateway adds to a streamed reply's time to first byte.
//
// It runs, all in this process and on 127.0.0.1 only:
//   - a FakeOpenAiServer (tests/support/fake_openai_server.hpp): the upstream;
//   - an llmrt::serve::Gateway over a Runtime with the bundled plugins, whose user directory (a
//     fresh temporary one) has an openai-models.json pointing the model "bench-upstream" at the
//     fake server;
// then sends N streamed chat requests ("stream": true, the same client key each time) to each of
//   direct      the upstream, on one keep-alive connection
//   direct-new  the upstream, on a new connection per request (what the openai plugin does for
//               each call it forwards)
//   gateway     the gateway (model "bench-upstream"), on one keep-alive connection
// one after the other, interleaved, and reports for each the time from sending the request to
//   first byte     the first byte of the SSE body ("data: ...")
//   first content  the arrival of the first event whose delta has non-empty content
//   total          the end of the stream ("data: [DONE]")
// as min/p50/p90/p99/max in milliseconds, and the gateway's difference to "direct".
//
//   llmrt_bench_ttfb [--requests 200] [--warmup 10] [--behaviour fake-model] [--message TEXT]
//                    [--max-seconds 120]
//
// --behaviour is the upstream model name, ie the fake server's behaviour: "fake-model" answers at
// once; "slow-stream" pauses 50 ms between events (so its first content comes 50 ms after its
// first event, the role-only one, which the gateway does not forward). Every request must succeed
// (HTTP 200, a stream ending with [DONE]) or the tool stops with exit status 1. Bounded: at most
// (warmup + requests) x 3 requests, each with a 10 s timeout, and no new request after
// --max-seconds.
#include <httplib.h>
#include <llmrt/runtime.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fake_openai_server.hpp"
#include "gateway.hpp"
#include "test_support.hpp"

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kClientKey = "sk-bench-ttfb-0123456789abcdef0123456789abcdef";
constexpr const char* kGatewayModel = "bench-upstream";

struct Options {
  std::size_t requests = 200;
  std::size_t warmup = 10;
  std::string behaviour = "fake-model";
  std::string message = "hi there";
  int max_seconds = 120;
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "llmrt_bench_ttfb: %s\n"
               "usage: llmrt_bench_ttfb [--requests N] [--warmup N] [--behaviour NAME] "
               "[--message TEXT] [--max-seconds S]\n",
               message.c_str());
  std::exit(2);
}

std::size_t number(const char* text, const std::string& name) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage(name + " needs a number");
  return static_cast<std::size_t>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) usage("missing value after " + name);
    const char* value = argv[++i];
    if (name == "--requests") {
      options.requests = number(value, name);
    } else if (name == "--warmup") {
      options.warmup = number(value, name);
    } else if (name == "--behaviour") {
      options.behaviour = value;
    } else if (name == "--message") {
      options.message = value;
    } else if (name == "--max-seconds") {
      options.max_seconds = static_cast<int>(number(value, name));
    } else {
      usage("unknown option " + name);
    }
  }
  if (options.requests == 0) usage("--requests must be at least 1");
  return options;
}

struct Sample {
  double first_byte_ms = 0;
  double first_content_ms = 0;
  double total_ms = 0;
};

// One way of reaching a server: its port, the model name to ask for, and whether the connection
// is kept between requests.
class Target {
 public:
  Target(std::string name, int port, std::string model, bool keep_alive)
      : name_(std::move(name)), port_(port), model_(std::move(model)), keep_alive_(keep_alive) {}

  const std::string& name() const { return name_; }
  std::vector<Sample>& samples() { return samples_; }

  // One streamed request. Throws std::runtime_error if it does not succeed.
  Sample run(const std::string& message) {
    std::optional<httplib::Client> fresh;
    httplib::Client* client = nullptr;
    if (keep_alive_) {
      if (!kept_) kept_.emplace(configured_client(true));
      client = &*kept_;
    } else {
      fresh.emplace(configured_client(false));
      client = &*fresh;
    }

    httplib::Request request;
    request.method = "POST";
    request.path = "/v1/chat/completions";
    request.headers.emplace("Content-Type", "application/json");
    request.headers.emplace("Accept", "text/event-stream");
    request.headers.emplace("Authorization", std::string("Bearer ") + kClientKey);
    request.body = json::serialize(json::object{
        {"model", model_},
        {"stream", true},
        {"messages", json::array{json::object{{"role", "user"}, {"content", message}}}}});

    std::optional<Clock::time_point> first_byte;
    std::optional<Clock::time_point> first_content;
    std::optional<Clock::time_point> done;
    std::string buffer;
    std::size_t parsed = 0;
    std::string failure;
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
      const Clock::time_point now = Clock::now();
      if (size > 0 && !first_byte) first_byte = now;
      buffer.append(data, size);
      // Complete events ("...\n\n"); the fake server and the gateway both use LF line endings.
      for (std::size_t end; (end = buffer.find("\n\n", parsed)) != std::string::npos;
           parsed = end + 2) {
        const std::string_view event(buffer.data() + parsed, end - parsed);
        if (!event.starts_with("data: ")) continue;
        const std::string_view payload = event.substr(6);
        if (payload == "[DONE]") {
          done = now;
          continue;
        }
        if (first_content) continue;
        boost::system::error_code ec;
        const json::value chunk = json::parse(payload, ec);
        const json::value* content = nullptr;
        if (!ec && chunk.is_object()) {
          if (const json::value* error = chunk.as_object().if_contains("error")) {
            failure = json::serialize(*error);
            return false;
          }
          const json::value* choices = chunk.as_object().if_contains("choices");
          if (choices && choices->is_array() && !choices->as_array().empty() &&
              choices->as_array()[0].is_object()) {
            const json::value* delta = choices->as_array()[0].as_object().if_contains("delta");
            if (delta && delta->is_object()) content = delta->as_object().if_contains("content");
          }
        }
        if (content && content->is_string() && !content->as_string().empty()) first_content = now;
      }
      return true;
    };

    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    const Clock::time_point start = Clock::now();
    const bool sent = client->send(request, response, error);
    if (!sent || response.status != 200 || !first_byte || !first_content || !done) {
      kept_.reset();  // a broken connection is not reused
      throw std::runtime_error(name_ + ": the request failed (" +
                               (!sent ? "transport error " + httplib::to_string(error)
                                      : "HTTP " + std::to_string(response.status) +
                                            (failure.empty() ? "" : ", error event " + failure) +
                                            (done ? "" : ", no [DONE]") +
                                            (first_content ? "" : ", no content")) +
                               ")");
    }
    const auto ms = [start](Clock::time_point at) {
      return std::chrono::duration<double, std::milli>(at - start).count();
    };
    return {ms(*first_byte), ms(*first_content), ms(*done)};
  }

 private:
  httplib::Client configured_client(bool keep_alive) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_keep_alive(keep_alive);
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(std::chrono::seconds(10));
    client.set_read_timeout(std::chrono::seconds(10));
    client.set_write_timeout(std::chrono::seconds(10));
    return client;
  }

  std::string name_;
  int port_;
  std::string model_;
  bool keep_alive_;
  std::optional<httplib::Client> kept_;
  std::vector<Sample> samples_;
};

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Summary {
  double min, p50, p90, p99, max;
};

Summary summarize(const std::vector<Sample>& samples, double Sample::*field) {
  std::vector<double> values;
  for (const Sample& sample : samples) values.push_back(sample.*field);
  std::sort(values.begin(), values.end());
  return {values.front(), percentile(values, 50), percentile(values, 90), percentile(values, 99),
          values.back()};
}

void print_table(const char* title, std::vector<Target>& targets, double Sample::*field) {
  std::printf("\n%s, ms\n", title);
  std::printf("  %-44s %8s %8s %8s %8s %8s\n", "target", "min", "p50", "p90", "p99", "max");
  for (Target& target : targets) {
    const Summary s = summarize(target.samples(), field);
    std::printf("  %-44s %8.3f %8.3f %8.3f %8.3f %8.3f\n", target.name().c_str(), s.min, s.p50,
                s.p90, s.p99, s.max);
  }
  const Summary direct = summarize(targets.front().samples(), field);
  const Summary gateway = summarize(targets.back().samples(), field);
  std::printf("  %-44s %8s %+8.3f %+8.3f %+8.3f\n", "gateway - direct (keep-alive)", "",
              gateway.p50 - direct.p50, gateway.p90 - direct.p90, gateway.p99 - direct.p99);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    llmrt::test::FakeOpenAiServer upstream;

    llmrt::test::TempDir user;
    {
      json::array models;
      models.push_back(json::object{
          {"id", kGatewayModel}, {"model", options.behaviour}, {"api_base", upstream.base_url()}});
      std::ofstream(user.path() / "openai-models.json")
          << json::serialize(json::object{{"models", std::move(models)}});
    }
    llmrt::RuntimeConfig runtime_config;
    runtime_config.load_bundled_plugins = false;
    runtime_config.use_plugin_path_env = false;
    runtime_config.load_user_plugins = false;
    runtime_config.plugin_paths = {llmrt::test::kBundledPluginDir};
    runtime_config.user_dir = user.path();
    runtime_config.environment = [](const char*) -> const char* { return nullptr; };
    runtime_config.async_threads = 16;  // streamed calls run on the runtime's pool
    llmrt::Runtime runtime(runtime_config);
    bool found = false;
    for (const auto& model : runtime.models()) found = found || model.id == kGatewayModel;
    if (!found) {
      for (const auto& error : runtime.load_errors()) {
        std::fprintf(stderr, "llmrt_bench_ttfb: %s: %s\n", error.path.c_str(),
                     error.message.c_str());
      }
      std::fprintf(stderr, "llmrt_bench_ttfb: the openai plugin did not offer %s (built?)\n",
                   kGatewayModel);
      return 1;
    }

    llmrt::serve::GatewayConfig config;  // as `llmrt serve --port 0 --quiet --max-concurrent 64`
    config.port = 0;
    config.threads = 2;  // I/O threads
    config.max_concurrent = 64;
    config.access_log = nullptr;
    llmrt::serve::Gateway gateway(runtime, config);
    const int gateway_port = gateway.bind();
    std::thread serving([&gateway] { gateway.serve(); });
    struct StopOnExit {
      llmrt::serve::Gateway& gateway;
      std::thread& thread;
      ~StopOnExit() {
        gateway.stop();
        thread.join();
      }
    } stop_on_exit{gateway, serving};

    std::vector<Target> targets;
    targets.emplace_back("direct: upstream, keep-alive", upstream.port(), options.behaviour, true);
    targets.emplace_back("direct-new: upstream, new connection each", upstream.port(),
                         options.behaviour, false);
    targets.emplace_back("gateway: llmrt serve + openai plugin", gateway_port, kGatewayModel, true);

    std::printf(
        "llmrt_bench_ttfb: %zu streamed requests per target (after %zu warm-up), "
        "upstream behaviour \"%s\", message \"%s\"%s\n",
        options.requests, options.warmup, options.behaviour.c_str(), options.message.c_str(),
#ifdef NDEBUG
        ""
#else
        " (NOT an optimized build: NDEBUG is not defined)"
#endif
    );
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(options.max_seconds);
    std::size_t completed = 0;
    for (std::size_t round = 0; round < options.warmup + options.requests; ++round) {
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "llmrt_bench_ttfb: stopped after %d s (%zu rounds measured)\n",
                     options.max_seconds, completed);
        break;
      }
      for (Target& target : targets) {
        const Sample sample = target.run(options.message);
        if (round >= options.warmup) target.samples().push_back(sample);
      }
      if (round >= options.warmup) ++completed;
    }
    if (completed == 0) {
      std::fprintf(stderr, "llmrt_bench_ttfb: no request measured\n");
      return 1;
    }
    print_table("time to first SSE data byte", targets, &Sample::first_byte_ms);
    print_table("time to first content (first event with non-empty delta.content)", targets,
                &Sample::first_content_ms);
    print_table("time to end of stream (data: [DONE])", targets, &Sample::total_ms);
    std::printf("\nmeasured %zu requests per target; upstream received %zu requests in all\n",
                completed, upstream.request_count());
    return completed == options.requests ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "llmrt_bench_ttfb: %s\n", error.what());
    return 1;
  }
}
