#include "tcp_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace llmrt::test {

struct TcpRelay::State {
  TcpRelayOptions options;
  int listener = -1;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  mutable std::mutex mutex;
  std::vector<std::thread> workers;
  std::vector<int> sockets;  // open client/upstream sockets, shut down on stop
  std::size_t accepted = 0;
  std::vector<std::string> connect_lines;

  void track(int fd) {
    std::lock_guard lock(mutex);
    sockets.push_back(fd);
  }

  static int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }

  static bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data += sent;
      size -= static_cast<std::size_t>(sent);
    }
    return true;
  }

  // Copies bytes both ways until either side closes or the relay stops.
  void splice(int a, int b) {
    char buffer[16384];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stopping) {
      if (::poll(fds, 2, 100) < 0) return;
      for (int i = 0; i < 2; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t got = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (got <= 0 || !send_all(fds[1 - i].fd, buffer, static_cast<std::size_t>(got))) return;
      }
    }
  }

  void serve(int client, std::size_t number) {
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (number < options.drop_first) return;
    int upstream = -1;
    if (options.connect_proxy) {
      std::string head;
      char c = 0;
      while (head.size() < 8192 && !head.ends_with("\r\n\r\n") && ::recv(client, &c, 1, 0) == 1) {
        head.push_back(c);
      }
      const std::string line = head.substr(0, head.find("\r\n"));
      {
        std::lock_guard lock(mutex);
        connect_lines.push_back(line);
      }
      const std::size_t colon = line.rfind(':');
      const std::size_t space = line.rfind(' ');
      if (!line.starts_with("CONNECT 127.0.0.1:") || colon == std::string::npos || space <= colon) {
        const std::string refused = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        send_all(client, refused.data(), refused.size());
        return;
      }
      upstream = connect_loopback(std::stoi(line.substr(colon + 1, space - colon - 1)));
      const std::string answer = upstream >= 0 ? "HTTP/1.1 200 Connection established\r\n\r\n"
                                               : "HTTP/1.1 502 Bad Gateway\r\n\r\n";
      if (!send_all(client, answer.data(), answer.size()) || upstream < 0) {
        if (upstream >= 0) ::close(upstream);
        return;
      }
    } else {
      upstream = connect_loopback(options.target_port);
      if (upstream < 0) return;
    }
    track(upstream);
    splice(client, upstream);
  }

  void accept_loop() {
    while (!stopping) {
      pollfd ready{listener, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard lock(mutex);
      sockets.push_back(client);
      const std::size_t number = accepted++;
      workers.emplace_back([this, client, number] {
        serve(client, number);
        ::shutdown(client, SHUT_RDWR);
      });
    }
  }
};

TcpRelay::TcpRelay(TcpRelayOptions options) : state_(std::make_shared<State>()) {
  State& state = *state_;
  state.options = options;
  state.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(state.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(state.listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(state.listener, SOMAXCONN) != 0 ||
      ::getsockname(state.listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw std::runtime_error("TcpRelay: cannot listen on 127.0.0.1");
  }
  state.port = ntohs(address.sin_port);
  state.acceptor = std::thread([&state] { state.accept_loop(); });
}

TcpRelay::~TcpRelay() {
  State& state = *state_;
  state.stopping = true;
  state.acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(state.mutex);
    for (const int fd : state.sockets) ::shutdown(fd, SHUT_RDWR);
    workers.swap(state.workers);
  }
  for (std::thread& worker : workers) worker.join();
  for (const int fd : state.sockets) ::close(fd);
  ::close(state.listener);
}

int TcpRelay::port() const {
  return state_->port;
}

std::size_t TcpRelay::connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->accepted;
}

std::vector<std::string> TcpRelay::connect_lines() const {
  std::lock_guard lock(state_->mutex);
  return state_->connect_lines;
}

}  // namespace llmrt::test
