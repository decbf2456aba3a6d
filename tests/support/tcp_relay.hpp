// A tiny TCP relay on 127.0.0.1 for network tests: either a forwarder to a loopback port that
// counts the connections it carries (and can drop the first ones unanswered, to fake a flaky
// network), or an HTTP CONNECT proxy (what HTTPS_PROXY points at) that records each CONNECT.
//
//   TcpRelay relay(TcpRelay::forward_to(server.port()));
//   ... point a client at relay.port() ... relay.connections();
//
// Threading: every member may be called from any thread. The destructor closes every connection
// and joins its threads.
#ifndef LLMRT_TESTS_TCP_RELAY_HPP
#define LLMRT_TESTS_TCP_RELAY_HPP

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace llmrt::test {

struct TcpRelayOptions {
  bool connect_proxy = false;  // true: an HTTP CONNECT proxy; false: forward to target_port
  int target_port = 0;         // where a forwarder sends its bytes (127.0.0.1)
  std::size_t drop_first = 0;  // the first N connections are closed at once, unanswered
};

class TcpRelay {
 public:
  static TcpRelayOptions forward_to(int port, std::size_t drop_first = 0) {
    return {false, port, drop_first};
  }
  static TcpRelayOptions connect_proxy() { return {true, 0, 0}; }

  explicit TcpRelay(TcpRelayOptions options);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  int port() const;
  std::size_t connections() const;                 // accepted so far (dropped ones included)
  std::vector<std::string> connect_lines() const;  // eg: "CONNECT 127.0.0.1:4431 HTTP/1.1"

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace llmrt::test

#endif  // LLMRT_TESTS_TCP_RELAY_HPP
