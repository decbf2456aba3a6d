// docs/serve.md's hardened deployment, run: nginx terminating TLS in front of the gateway, with the
// configuration in nginx_front.conf.in. Skipped when nginx (or openssl, for a throwaway
// certificate) is not installed.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gateway_test_support.hpp"

namespace llmrt::test::serve_test {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kNginx = "/usr/sbin/nginx";
const std::filesystem::path kConfigTemplate =
    std::filesystem::path(LLMRT_SOURCE_DIR) / "tests/serve/nginx_front.conf.in";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

TEST(GatewayBehindNginx, TheDocumentedNginxFrontServesChatsAndStreamsOverTls) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx is not installed";
  if (std::system("command -v openssl > /dev/null") != 0) GTEST_SKIP() << "no openssl command";
  ServedGateway gateway;
  TempDir temp;
  const std::string dir = temp.path().string();
  const std::string make_certificate =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout '" + dir +
      "/key.pem' -out '" + dir + "/cert.pem' > /dev/null 2>&1";
  ASSERT_EQ(std::system(make_certificate.c_str()), 0);
  std::string config = read_file(kConfigTemplate);
  const int port = free_port();
  replace_all(config, "@DIR@", dir);
  replace_all(config, "@LISTEN@", "127.0.0.1:" + std::to_string(port));
  replace_all(config, "@UPSTREAM@", "127.0.0.1:" + std::to_string(gateway.port()));
  std::ofstream(temp.path() / "nginx.conf") << config;

  const pid_t nginx = ::fork();
  ASSERT_GE(nginx, 0);
  if (nginx == 0) {
    const std::string conf = dir + "/nginx.conf";
    ::execl(kNginx.c_str(), "nginx", "-p", dir.c_str(), "-c", conf.c_str(), "-g", "daemon off;",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  httplib::Client client("https://127.0.0.1:" + std::to_string(port));
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(2s);
  client.set_read_timeout(10s);
  const bool up = eventually([&] { return static_cast<bool>(client.Get("/readyz")); }, 10s);
  EXPECT_TRUE(up) << read_file(temp.path() / "error.log");
  if (up) {
    const std::string key = "sk-behind-nginx-" + random_hex(8);
    const Reply reply = post_chat(client, chat_body("echo", "through nginx", false), bearer(key));
    EXPECT_EQ(completion_content(reply.body), echo_reply("through nginx", key));
    const Reply streamed = post_chat(client, chat_body("slow", "streamed through nginx", true));
    EXPECT_EQ(reply_text(streamed, true), "streamed through nginx");
    EXPECT_EQ(to_reply(client.Get("/readyz")).status, 200);
  }
  ::kill(nginx, SIGTERM);
  int status = 0;
  ::waitpid(nginx, &status, 0);
}

}  // namespace
}  // namespace llmrt::test::serve_test
