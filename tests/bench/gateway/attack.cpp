// llmrt_bench_attack: the hostile side of tests/bench/gateway/soak_gateway.sh. Against one
// gateway, at the same time and for --seconds:
//   --idle N        N connections that never send a byte (reopened when the gateway closes them
//                   at its header deadline, so that N stay open);
//   --slowloris N   N connections that send a request's headers one byte per second (reopened
//                   when closed, likewise);
//   --disconnects N N streamed chat requests that read ~100 bytes of the stream and hang up
//                   (--disconnect-threads at a time, spread over --seconds).
// Prints "ready" once the idle and slowloris connections are open, and a summary at the end.
// Plain POSIX sockets: these are clients no HTTP library would be.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  int port = 0;
  int idle = 10000;
  int slowloris = 1000;
  int disconnects = 1000;
  int disconnect_threads = 8;
  int seconds = 20;
  std::string model = "flood";
  std::string prompt = "bytes 100000000";
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// True if the peer has closed `fd` (or reset it); drains what it sent.
bool closed_by_peer(int fd) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

const std::string kSlowHead = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

struct Held {
  std::vector<int> fds;
  long reopened = 0;
  long failed = 0;
};

void open_all(Held& held, int count, int port, bool slow) {
  for (int i = 0; i < count; ++i) {
    const int fd = connect_to(port);
    if (fd < 0) {
      ++held.failed;
      continue;
    }
    if (slow) send_all(fd, kSlowHead);
    held.fds.push_back(fd);
  }
}

// Once a second: the slowloris send one more header byte; closed connections are reopened.
void hold(Held& held, int port, bool slow) {
  for (int& fd : held.fds) {
    const bool closed = slow ? !send_all(fd, "a") || closed_by_peer(fd) : closed_by_peer(fd);
    if (!closed) continue;
    ::close(fd);
    fd = connect_to(port);
    ++held.reopened;
    if (fd < 0) {
      ++held.failed;
      fd = connect_to(port);  // one retry; a -1 stays -1 (poll ignores it)
      if (fd < 0) continue;
    }
    if (slow) send_all(fd, kSlowHead);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--port")
      settings.port = std::atoi(value);
    else if (name == "--idle")
      settings.idle = std::atoi(value);
    else if (name == "--slowloris")
      settings.slowloris = std::atoi(value);
    else if (name == "--disconnects")
      settings.disconnects = std::atoi(value);
    else if (name == "--disconnect-threads")
      settings.disconnect_threads = std::atoi(value);
    else if (name == "--seconds")
      settings.seconds = std::atoi(value);
    else if (name == "--model")
      settings.model = value;
    else if (name == "--prompt")
      settings.prompt = value;
    else {
      std::fprintf(stderr, "llmrt_bench_attack: unknown option %s\n", name.c_str());
      return 2;
    }
  }
  if (settings.port <= 0) {
    std::fprintf(stderr,
                 "usage: llmrt_bench_attack --port P [--idle N] [--slowloris N] "
                 "[--disconnects N] [--disconnect-threads N] [--seconds S]\n");
    return 2;
  }
  Held idle, slow;
  open_all(idle, settings.idle, settings.port, false);
  open_all(slow, settings.slowloris, settings.port, true);
  std::printf("ready: %zu idle, %zu slowloris connections open\n", idle.fds.size(),
              slow.fds.size());
  std::fflush(stdout);

  const auto end = Clock::now() + std::chrono::seconds(settings.seconds);
  const std::string body = "{\"model\":\"" + settings.model +
                           "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"" +
                           settings.prompt + "\"}]}";
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  std::atomic<int> next{0};
  std::atomic<long> left_mid_stream{0}, refused{0}, failed{0};
  const auto spacing = std::chrono::microseconds(
      settings.disconnects > 0
          ? settings.seconds * 1000000LL * settings.disconnect_threads / settings.disconnects
          : 0);
  std::vector<std::thread> leavers;
  for (int t = 0; t < settings.disconnect_threads; ++t) {
    leavers.emplace_back([&] {
      auto due = Clock::now();
      while (next++ < settings.disconnects && Clock::now() < end) {
        std::this_thread::sleep_until(due);
        due += spacing;
        const int fd = connect_to(settings.port);
        if (fd < 0 || !send_all(fd, request)) {
          ++failed;
          if (fd >= 0) ::close(fd);
          continue;
        }
        std::string got;
        char buffer[4096];
        pollfd poll_fd{fd, POLLIN, 0};
        while (::poll(&poll_fd, 1, 10000) > 0) {
          const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          got.append(buffer, static_cast<std::size_t>(n));
          const auto head_end = got.find("\r\n\r\n");
          if (head_end != std::string::npos && got.size() > head_end + 100) break;
        }
        if (got.rfind("HTTP/1.1 200", 0) == 0) {
          ++left_mid_stream;
        } else {
          ++refused;  // eg: 503 when every slot is taken
        }
        ::close(fd);  // mid-stream
      }
    });
  }
  while (Clock::now() < end) {
    const auto tick = Clock::now() + std::chrono::seconds(1);
    hold(idle, settings.port, false);
    hold(slow, settings.port, true);
    std::this_thread::sleep_until(tick);
  }
  for (auto& leaver : leavers) leaver.join();
  std::printf(
      "attack: idle %zu (reopened %ld, failed %ld), slowloris %zu (reopened %ld, failed %ld), "
      "mid-stream disconnects %ld (refused %ld, failed %ld)\n",
      idle.fds.size(), idle.reopened, idle.failed, slow.fds.size(), slow.reopened, slow.failed,
      left_mid_stream.load(), refused.load(), failed.load());
  for (int fd : idle.fds) ::close(fd);
  for (int fd : slow.fds) ::close(fd);
  return 0;
}
