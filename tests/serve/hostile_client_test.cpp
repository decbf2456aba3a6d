// The gateway facing hostile and careless clients (issue 9), each row of the table on real
// loopback sockets: raw POSIX sockets play the clients no HTTP library would be (slowloris, idle
// hordes, pipelining, floods, readers that never read). After each attack the gateway must still
// answer a normal chat, its slots and connections must be free, nothing may keep spinning, and
// every request must have had exactly one access-log line (and one audit line for a chat).
//
// Limits and deadlines are set small here so that every test ends in a few seconds; no test
// asserts a timing, only that things happen within generous bounds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_support.hpp"

namespace llmrt::test::serve_test {
namespace {

using namespace std::chrono_literals;

constexpr auto kBound = kThreadSanitizer ? 30s : 10s;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif
// Sanitizers keep freed memory (quarantine, shadow): resident memory says nothing there.
constexpr bool kMeasureMemory = !kAddressSanitizer && !kThreadSanitizer;

// A client socket spoken to byte by byte.
class RawClient {
 public:
  explicit RawClient(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect() failed: ") + std::strerror(errno));
    }
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // False once the server has closed (or reset) the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Reads until `done(received)` holds, the peer closes, or `timeout` passes.
  template <class Done>
  std::string receive_until(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(received_) && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd poll_fd{fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[16384];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buffer, static_cast<std::size_t>(got));
    }
    return received_;
  }
  std::string receive_for(std::chrono::milliseconds timeout) {
    return receive_until([](const std::string&) { return false; }, timeout);
  }
  // True if the server closes the connection within `timeout` (whatever it sent first).
  bool closed_within(std::chrono::milliseconds timeout) {
    receive_for(timeout);
    return closed_;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

std::string chat_request(const std::string& body, const std::string& extra_headers = "",
                         bool keep_alive = true) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
         "application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + body;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::chrono::microseconds cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// Nothing of this process keeps spinning: over half a second it uses (much) less than a tenth of
// a core. An abandoned stream's spin costs a whole core.
void expect_cpu_idle() {
  const auto before = cpu_time();
  std::this_thread::sleep_for(500ms);
  const auto used = cpu_time() - before;
  EXPECT_LT(used, 100ms) << "CPU time over 500 ms of quiet: " << used.count() << " us";
}

json::object health(const ServedGateway& gateway) {
  auto client = gateway.client();
  const Reply reply = to_reply(client->Get("/healthz"));
  EXPECT_EQ(reply.status, 200) << reply;
  boost::system::error_code ec;
  json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) return {};
  return body.as_object();
}

std::int64_t number(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value && value->is_int64() ? value->as_int64() : -1;
}

// Every slot free and no call running: what a gateway looks like after its clients are gone.
bool settled(const ServedGateway& gateway) {
  const json::object state = health(gateway);
  return number(state, "busy_slots") == 0 && number(state, "calls_in_flight") == 0 &&
         number(state, "waiting") == 0;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++found;
  }
  return found;
}

void raise_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

// ---- A client that leaves mid-stream ------------------------------------------------------------

TEST(HostileClients, MidStreamDisconnectsCancelTheCallFreeEverythingAndLogOnce) {
  TempDir audit_dir;
  const std::filesystem::path audit = audit_dir.path() / "audit.log";
  ServedGateway gateway([&](serve::GatewayConfig& config) {
    config.max_concurrent = 4;
    config.audit_log_file = audit;
  });
  expect_still_serving(gateway);
  const std::size_t resident_before = resident_bytes();
  constexpr int kLeavers = 12;
  std::vector<std::thread> leavers;
  std::atomic<int> read_something{0};
  for (int i = 0; i < kLeavers; ++i) {
    leavers.emplace_back([&] {
      // 1 GB asked for: read 100 bytes of the stream, then close the socket.
      RawClient client(gateway.port());
      client.send(chat_request(chat_body("flood", "bytes 1000000000", true)));
      const std::string got = client.receive_until(
          [](const std::string& so_far) {
            const auto body = so_far.find("\r\n\r\n");
            return body != std::string::npos && so_far.size() > body + 100;
          },
          kBound);
      if (got.rfind("HTTP/1.1 200", 0) == 0) ++read_something;
    });
  }
  for (auto& leaver : leavers) leaver.join();
  EXPECT_EQ(read_something.load(), kLeavers);

  EXPECT_TRUE(eventually([&] { return settled(gateway); }, kBound))
      << json::serialize(health(gateway));
  EXPECT_TRUE(eventually(
      [&] {
        return count(gateway.slow_events(), "cancelled flood-bytes") ==
               static_cast<std::size_t>(kLeavers);
      },
      kBound))
      << gateway.slow_events();
  expect_cpu_idle();
  if (kMeasureMemory) {
    EXPECT_LT(resident_bytes(), resident_before + (16u << 20))
        << "resident memory grew by " << (resident_bytes() - resident_before) / 1024 << " KiB";
  }
  const std::string log = gateway.access_log_with(kLeavers + 1);
  EXPECT_EQ(count(log, "model=flood status=499"), static_cast<std::size_t>(kLeavers)) << log;
  EXPECT_EQ(count(log, "model=flood"), static_cast<std::size_t>(kLeavers)) << log;
  const std::string audit_text = read_file(audit);
  EXPECT_EQ(count(audit_text, "\"outcome\":\"client_disconnected\""),
            static_cast<std::size_t>(kLeavers))
      << audit_text;
  EXPECT_EQ(count(audit_text, "\"model\":\"flood\""), static_cast<std::size_t>(kLeavers));
  expect_still_serving(gateway);
}

// ---- Slowloris and idle hordes ------------------------------------------------------------------

TEST(HostileClients, SlowlorisConnectionsDelayNobodyAndAreClosedAtTheHeaderDeadline) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.header_timeout = 1s; });
  constexpr int kTricklers = 80;  // more than a thread-per-connection server had threads
  std::vector<std::unique_ptr<RawClient>> tricklers;
  for (int i = 0; i < kTricklers; ++i) {
    tricklers.push_back(std::make_unique<RawClient>(gateway.port()));
    tricklers.back()->send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ");
  }
  std::atomic<bool> trickling{true};
  std::thread trickle([&] {
    while (trickling) {
      for (auto& client : tricklers) client->send("a");
      std::this_thread::sleep_for(100ms);
    }
  });
  // Meanwhile everyone else is served as usual.
  {
    auto client = gateway.client();
    client->set_read_timeout(5s);
    EXPECT_EQ(to_reply(client->Get("/healthz")).status, 200);
  }
  expect_still_serving(gateway);
  // And every trickler is answered 408 and closed at its header deadline, however it trickles.
  int closed = 0;
  int answered_408 = 0;
  for (auto& client : tricklers) {
    if (client->closed_within(kBound)) ++closed;
    if (client->received().rfind("HTTP/1.1 408", 0) == 0) ++answered_408;
  }
  trickling = false;
  trickle.join();
  EXPECT_EQ(closed, kTricklers);
  EXPECT_EQ(answered_408, kTricklers);
  EXPECT_TRUE(eventually([&] { return number(health(gateway), "connections") <= 1; }, kBound));
  const std::string log = gateway.access_log_with(kTricklers + 1);
  EXPECT_EQ(count(log, "model=- status=408"), static_cast<std::size_t>(kTricklers)) << log;
  expect_cpu_idle();
}

TEST(HostileClients, SixHundredIdleConnectionsCostNoThreadsAndDelayNobody) {
  raise_descriptor_limit();
  ServedGateway gateway;
  const auto threads = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                         std::filesystem::directory_iterator());
  };
  const auto threads_before = threads();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 600; ++i) idle.push_back(std::make_unique<RawClient>(gateway.port()));
  EXPECT_TRUE(eventually([&] { return number(health(gateway), "connections") >= 600; }, kBound))
      << json::serialize(health(gateway));
  expect_still_serving(gateway);
  EXPECT_LE(threads(), threads_before + 2) << "threads grew with idle connections";
  idle.clear();
  EXPECT_TRUE(eventually([&] { return number(health(gateway), "connections") <= 1; }, kBound));
}

TEST(HostileClients, IdleKeepAliveConnectionsAreClosedAtTheIdleDeadline) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.idle_timeout = 300ms; });
  RawClient client(gateway.port());
  client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(client.closed_within(kBound));
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200", 0), 0u) << client.received();
}

// One timer serves every deadline of a connection, and moving a deadline later leaves it where it
// is: a deadline that moves earlier must still re-arm it. After one answer the connection waits
// with the long idle deadline; a second request that trickles its headers must then be cut at the
// short header deadline, not when the idle one runs out. And a write deadline does not outlive its
// write: the connection stays open past it while idle.
TEST(HostileClients, AKeepAliveConnectionsNextRequestIsHeldToTheHeaderDeadline) {
  ServedGateway gateway([](serve::GatewayConfig& config) {
    config.header_timeout = 1s;
    config.idle_timeout = 120s;
    config.write_timeout = 300ms;
  });
  RawClient client(gateway.port());
  client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::string first = client.receive_until(
      [](const std::string& received) { return received.find("}") != std::string::npos; }, kBound);
  ASSERT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  // Past the write deadline of the first answer, with nothing being written: still open.
  EXPECT_FALSE(client.closed_within(800ms)) << "closed while idle, well before the idle deadline";
  client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ");
  EXPECT_TRUE(client.closed_within(kBound)) << "the header deadline was not applied";
  EXPECT_NE(client.received().find("HTTP/1.1 408", first.size()), std::string::npos)
      << client.received();
  expect_still_serving(gateway);
}

TEST(HostileClients, ConnectionsBeyondThePerAddressLimitAreRefusedAtOnce) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.max_connections_per_ip = 4; });
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawClient>(gateway.port()));
  EXPECT_TRUE(eventually(
      [&] {
        // The probe is a fifth connection itself: it is refused while four are held.
        RawClient probe(gateway.port());
        probe.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        return probe.closed_within(kBound) && probe.received().rfind("HTTP/1.1 503", 0) == 0;
      },
      kBound));
  held.clear();
  EXPECT_TRUE(eventually(
      [&] {
        auto client = gateway.client();
        return to_reply(client->Get("/healthz")).status == 200;
      },
      kBound));
  expect_still_serving(gateway);
}

// ---- Limits on what a client sends --------------------------------------------------------------

TEST(HostileClients, AChunkedBodyOverTheLimitIs413AndAChunkedBodyWithinItIsServed) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.max_body_bytes = 8192; });
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  {
    RawClient client(gateway.port());
    client.send(head);
    const std::string chunk(4096, ' ');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 64 && client.send(size + chunk + "\r\n"); ++i) {
    }
    client.receive_for(kBound);
    EXPECT_EQ(client.received().rfind("HTTP/1.1 413", 0), 0u) << client.received();
    EXPECT_NE(client.received().find("\"code\":\"body_too_large\""), std::string::npos);
  }
  {
    const std::string body = chat_body("echo", "chunked and small", false);
    RawClient client(gateway.port());
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", body.size());
    client.send(head + size + body + "\r\n0\r\n\r\n");
    client.receive_until(
        [](const std::string& got) { return got.find("chunked and small") != std::string::npos; },
        kBound);
    EXPECT_EQ(client.received().rfind("HTTP/1.1 200", 0), 0u) << client.received();
  }
  expect_still_serving(gateway);
}

TEST(HostileClients, TooManyOrTooLargeHeadersAre431AndCostNoMemory) {
  ServedGateway gateway;
  const std::string body = chat_body("echo", "hi", false);
  {
    std::string many;
    for (int i = 0; i < 200; ++i) many += "X-Tiny-" + std::to_string(i) + ": 1\r\n";
    RawClient client(gateway.port());
    client.send(chat_request(body, many));
    client.receive_for(kBound);
    EXPECT_EQ(client.received().rfind("HTTP/1.1 431", 0), 0u) << client.received();
  }
  {
    RawClient client(gateway.port());
    client.send(chat_request(body, "X-Large: " + std::string(20000, 'x') + "\r\n"));
    client.receive_for(kBound);
    EXPECT_EQ(client.received().rfind("HTTP/1.1 431", 0), 0u) << client.received();
  }
  {
    // A million tiny headers (~14 MB), sent for as long as the server takes them.
    const std::size_t resident_before = resident_bytes();
    RawClient client(gateway.port());
    client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    std::string batch;
    for (int i = 0; i < 10000; ++i) batch += "X-A: 1\r\n";
    for (int i = 0; i < 100 && client.send(batch); ++i) {
    }
    client.receive_for(kBound);
    EXPECT_EQ(client.received().rfind("HTTP/1.1 431", 0), 0u) << client.received().substr(0, 200);
    if (kMeasureMemory) EXPECT_LT(resident_bytes(), resident_before + (8u << 20));
  }
  const std::string log = gateway.access_log_with(3);
  EXPECT_EQ(count(log, "status=431"), 3u) << log;
  expect_still_serving(gateway);
}

TEST(HostileClients, TwoAuthorizationHeadersAre400AndNeitherKeyIsUsedOrShown) {
  ServedGateway gateway;
  const std::string first = "sk-first-" + random_hex(12);
  const std::string second = "sk-second-" + random_hex(12);
  RawClient client(gateway.port());
  client.send(chat_request(
      chat_body("echo", "which key?", false),
      "Authorization: Bearer " + first + "\r\nAuthorization: Bearer " + second + "\r\n"));
  client.receive_for(kBound);
  EXPECT_EQ(client.received().rfind("HTTP/1.1 400", 0), 0u) << client.received();
  EXPECT_NE(client.received().find("\"code\":\"duplicate_authorization\""), std::string::npos);
  EXPECT_EQ(client.received().find("which key?"), std::string::npos);
  const std::string log = gateway.access_log_with(1);
  EXPECT_NE(log.find("POST /v1/chat/completions model=- status=400"), std::string::npos) << log;
  for (const std::string& key : {first, second}) {
    EXPECT_EQ(client.received().find(key), std::string::npos);
    EXPECT_EQ(log.find(key), std::string::npos);
  }
  expect_still_serving(gateway);
}

TEST(HostileClients, PipelinedRequestsAreAllAnsweredInOrderOnOneConnection) {
  ServedGateway gateway;
  RawClient client(gateway.port());
  client.send(chat_request(chat_body("echo", "first-answer", false)) +
              chat_request(chat_body("echo", "second-answer", true)) +
              "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  client.receive_until(
      [](const std::string& got) {
        return got.find("busy_slots") != std::string::npos &&
               got.find("\"admittable\"") != std::string::npos;
      },
      kBound);
  const std::string& got = client.received();
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 3u) << got;
  const auto first = got.find("first-answer");
  const auto second = got.find("second-answer");
  const auto third = got.find("busy_slots");
  ASSERT_NE(first, std::string::npos) << got;
  ASSERT_NE(second, std::string::npos) << got;
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_FALSE(client.closed_within(200ms)) << "keep-alive: the connection stays open";
}

// ---- Bounded memory and backpressure ------------------------------------------------------------

TEST(HostileClients, AStreamToAClientThatNeverReadsPausesTheModelAndEndsAtTheWriteDeadline) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.write_timeout = 1s; });
  const std::size_t resident_before = resident_bytes();
  RawClient client(gateway.port(), 4096);
  client.send(chat_request(chat_body("flood", "bytes 1000000000", true)));
  // It never reads. The model is paused at the connection's buffer, then stopped.
  EXPECT_TRUE(eventually(
      [&] { return gateway.slow_events().find("cancelled flood-bytes") != std::string::npos; },
      kBound))
      << gateway.slow_events();
  if (kMeasureMemory) {
    EXPECT_LT(resident_bytes(), resident_before + (16u << 20))
        << "resident memory grew by " << (resident_bytes() - resident_before) / 1024 << " KiB";
  }
  EXPECT_TRUE(eventually([&] { return settled(gateway); }, kBound));
  const std::string log = gateway.access_log_with(1);
  EXPECT_EQ(count(log, "model=flood status=499"), 1u) << log;
  expect_cpu_idle();
  expect_still_serving(gateway);
}

TEST(HostileClients, ANonStreamedReplyOverMaxReplyBytesIs502AndHoldsNoMore) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.max_reply_bytes = 1 << 20; });
  const std::size_t resident_before = resident_bytes();
  auto client = gateway.client();
  const Reply reply = post_chat(*client, chat_body("flood", "bytes 1000000000", false));
  EXPECT_EQ(reply.status, 502) << reply;
  const json::object error = error_of(reply);
  EXPECT_EQ(field(error, "code"), "reply_too_large");
  EXPECT_NE(field(error, "message").find("1048576"), std::string::npos);
  EXPECT_NE(gateway.slow_events().find("cancelled flood-bytes"), std::string::npos);
  if (kMeasureMemory) EXPECT_LT(resident_bytes(), resident_before + (16u << 20));
  EXPECT_TRUE(eventually([&] { return settled(gateway); }, kBound));
  // Within the limit it is answered whole.
  const Reply small = post_chat(*client, chat_body("flood", "bytes 100000", false));
  EXPECT_EQ(completion_content(small.body), std::string(100000, 'a'));
}

// ---- Valid UTF-8
// ----------------------------------------------------------------------------------

TEST(HostileClients, InvalidUtf8FromAModelReachesClientsAsValidUtf8) {
  ServedGateway gateway;
  const std::string expected = "bad \xEF\xBF\xBD byte, caf\xC3\xA9 ok";
  auto client = gateway.client();
  const Reply whole = post_chat(*client, chat_body("flood", "invalid", false));
  EXPECT_EQ(completion_content(whole.body), expected);  // json::parse checks UTF-8
  const Reply streamed = post_chat(*client, chat_body("flood", "invalid", true));
  EXPECT_EQ(reply_text(streamed, true), expected);
  // The "é" split across the plugin's two writes reaches the client whole, in one event.
  EXPECT_NE(streamed.body.find("\xC3\xA9 ok"), std::string::npos) << streamed.body;
}

// ---- Deadlines on model calls
// ---------------------------------------------------------------------

std::string words(const std::string& first, int count) {
  std::string text = first;
  for (int i = 0; i < count; ++i) text += " word" + std::to_string(i);
  return text;
}

TEST(HostileClients, ACallPastTheClientsDeadlineIsCancelledWith504) {
  ServedGateway gateway;
  auto client = gateway.client();
  const httplib::Headers shorter{{"X-Llmrt-Timeout-Ms", "300"}};
  const Reply reply = post_chat(*client, chat_body("slow", words("late", 60), false), shorter);
  EXPECT_EQ(reply.status, 504) << reply;
  EXPECT_EQ(field(error_of(reply), "code"), "request_timeout");
  EXPECT_EQ(field(error_of(reply), "type"), "server_error");
  EXPECT_TRUE(eventually(
      [&] { return gateway.slow_events().find("cancelled late") != std::string::npos; }, kBound))
      << gateway.slow_events();

  // Streaming had started: the stream ends with an error event instead.
  const Reply streamed =
      post_chat(*client, chat_body("slow", words("latestream", 60), true), shorter);
  EXPECT_EQ(streamed.status, 200) << streamed;
  EXPECT_NE(streamed.body.find("\"code\":\"request_timeout\""), std::string::npos) << streamed.body;
  EXPECT_TRUE(eventually(
      [&] { return gateway.slow_events().find("cancelled latestream") != std::string::npos; },
      kBound));
  const Reply bad =
      post_chat(*client, chat_body("echo", "hi", false), {{"X-Llmrt-Timeout-Ms", "soon"}});
  EXPECT_EQ(bad.status, 400) << bad;
  EXPECT_TRUE(eventually([&] { return settled(gateway); }, kBound));
  const std::string log = gateway.access_log_with(3);
  // A stream is logged with what it ended with, as for any stream that ends with an error event.
  EXPECT_EQ(count(log, "model=slow status=504"), 2u) << log;
  expect_still_serving(gateway);
}

TEST(HostileClients, TheGatewaysRequestTimeoutAppliesWithoutAClientDeadline) {
  ServedGateway gateway([](serve::GatewayConfig& config) { config.request_timeout = 300ms; });
  auto client = gateway.client();
  const Reply reply = post_chat(*client, chat_body("slow", words("deadline", 60), false));
  EXPECT_EQ(reply.status, 504) << reply;
  // A client cannot ask for more than the gateway allows.
  const Reply longer = post_chat(*client, chat_body("slow", words("longer", 60), false),
                                 {{"X-Llmrt-Timeout-Ms", "600000"}});
  EXPECT_EQ(longer.status, 504) << longer;
}

// ---- Health -------------------------------------------------------------------------------------

TEST(HostileClients, HealthzAndReadyzTellTheTruthWhenSaturated) {
  ServedGateway gateway([](serve::GatewayConfig& config) {
    config.max_concurrent = 1;
    config.max_waiting = 0;
  });
  {
    auto client = gateway.client();
    EXPECT_EQ(to_reply(client->Get("/readyz")).status, 200);
  }
  RawClient holder(gateway.port());
  holder.send(chat_request(chat_body("slow", words("holder", 40), true)));
  holder.receive_until(
      [](const std::string& got) { return got.find("data: ") != std::string::npos; }, kBound);
  const json::object busy = health(gateway);
  EXPECT_EQ(number(busy, "busy_slots"), 1) << json::serialize(busy);
  EXPECT_EQ(field(busy, "status"), "saturated");
  EXPECT_EQ(field(busy, "admittable"), "false");
  EXPECT_GE(number(busy, "connections"), 2);
  {
    auto client = gateway.client();
    const Reply ready = to_reply(client->Get("/readyz"));
    EXPECT_EQ(ready.status, 503) << ready;
    EXPECT_FALSE(ready.header("Retry-After").empty());
  }
  holder.closed_within(10ms);
}

}  // namespace
}  // namespace llmrt::test::serve_test
