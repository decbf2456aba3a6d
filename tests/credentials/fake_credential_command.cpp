// fake_credential_command: a stand-in for a real credential command (credentials.json "command"),
// whose behaviour the test picks with arguments. It never takes a key on its command line (error
// messages may name the command), only the path of a file holding keys.
//
//   --key-file F      the keys, one per line; the n-th invocation prints line n (the last line once
//                     there are no more). Without --count-file, n is 1.
//   --count-file F    counts invocations in F (under flock, so concurrent runs count correctly)
//   --token           also print "token": "<key>-session"
//   --expires-in S    also print "expires_at": now + S seconds (S may be negative: already expired)
//   --expires-at T    also print "expires_at": T, as given
//   --sleep-ms N      sleep N ms before printing (to run past the timeout)
//   --linger-ms N     after printing, close stdout and stderr and sleep N ms before exiting
//   --pid-file F      write the process id to F first
//   --exit N          exit with status N after printing
//   --fail-from N     from the N-th invocation on, print nothing and exit 3
//   --stderr TEXT     write TEXT, then a second line that must never be shown, to stderr
//   --stderr-key      write a line with the key to stderr
//   --garbage         print "this is not json <key>" instead of JSON
//   --junk-first      print "junk " before the JSON
//   --stderr-token    write a line with the token ("<key>-session" reversed) to stderr
//   --reversed-token  print the token as the key reversed (shares no 8-byte run with the key)
//   --child-ms N      before printing, start a child that keeps stdout open and sleeps N ms; its
//                     pid goes to --child-pid-file F
//   --setsid          the child above calls setsid() first (out of the command's process group)
//   --big             print 100000 bytes
//   --check-stdin     exit 5 unless stdin is at end of file at once (it must be /dev/null)
//   --check-fds       exit 6 if any descriptor above 2 is open (nothing must leak into it)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

int count_invocation(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) std::exit(20);
  ::flock(fd, LOCK_EX);
  char buffer[32] = {};
  const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
  const int count = (got > 0 ? std::atoi(buffer) : 0) + 1;
  const std::string text = std::to_string(count);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) std::exit(21);
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return count;
}

std::string format_utc(std::time_t when) {
  std::tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string key_file, count_file, expires_at, stderr_text, pid_file;
  bool token = false, stderr_key = false, garbage = false, big = false;
  bool check_stdin = false, check_fds = false;
  bool junk_first = false, stderr_token = false, reversed_token = false, child_setsid = false;
  long long child_ms = 0;
  std::string child_pid_file;
  int exit_code = 0, fail_from = 0;
  long long sleep_ms = 0, linger_ms = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto next = [&]() -> const std::string& {
      if (i + 1 >= args.size()) {
        std::cerr << "fake_credential_command: " << arg << " needs a value\n";
        std::exit(2);
      }
      return args[++i];
    };
    if (arg == "--key-file") {
      key_file = next();
    } else if (arg == "--count-file") {
      count_file = next();
    } else if (arg == "--token") {
      token = true;
    } else if (arg == "--expires-in") {
      expires_at = format_utc(std::time(nullptr) + std::stoll(next()));
    } else if (arg == "--expires-at") {
      expires_at = next();
    } else if (arg == "--sleep-ms") {
      sleep_ms = std::stoll(next());
    } else if (arg == "--linger-ms") {
      linger_ms = std::stoll(next());
    } else if (arg == "--pid-file") {
      pid_file = next();
    } else if (arg == "--exit") {
      exit_code = std::stoi(next());
    } else if (arg == "--fail-from") {
      fail_from = std::stoi(next());
    } else if (arg == "--stderr") {
      stderr_text = next();
    } else if (arg == "--stderr-key") {
      stderr_key = true;
    } else if (arg == "--garbage") {
      garbage = true;
    } else if (arg == "--junk-first") {
      junk_first = true;
    } else if (arg == "--stderr-token") {
      stderr_token = true;
    } else if (arg == "--reversed-token") {
      reversed_token = true;
    } else if (arg == "--child-ms") {
      child_ms = std::stoll(next());
    } else if (arg == "--child-pid-file") {
      child_pid_file = next();
    } else if (arg == "--setsid") {
      child_setsid = true;
    } else if (arg == "--big") {
      big = true;
    } else if (arg == "--check-stdin") {
      check_stdin = true;
    } else if (arg == "--check-fds") {
      check_fds = true;
    } else {
      std::cerr << "fake_credential_command: unknown argument " << arg << "\n";
      return 2;
    }
  }

  if (!pid_file.empty()) std::ofstream(pid_file) << ::getpid() << "\n";
  if (check_stdin) {
    char byte;
    if (::read(0, &byte, 1) != 0) return 5;
  }
  if (check_fds) {
    for (int fd = 3; fd < 1024; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) return 6;
    }
  }
  const int invocation = count_file.empty() ? 1 : count_invocation(count_file);
  if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  if (fail_from > 0 && invocation >= fail_from) {
    std::cerr << "refresh refused for invocation " << invocation << "\nsecond line\n";
    return 3;
  }

  std::string key;
  if (!key_file.empty()) {
    std::ifstream file(key_file);
    std::string line;
    for (int n = 1; std::getline(file, line); ++n) {
      if (!line.empty()) key = line;
      if (n >= invocation) break;
    }
  }

  const std::string session =
      reversed_token ? std::string(key.rbegin(), key.rend()) : key + "-session";
  if (child_ms > 0) {
    const pid_t child = ::fork();
    if (child == 0) {
      if (child_setsid) ::setsid();
      std::this_thread::sleep_for(std::chrono::milliseconds(child_ms));  // stdout stays open
      ::_exit(0);
    }
    if (!child_pid_file.empty()) std::ofstream(child_pid_file) << child << "\n";
  }
  if (!stderr_text.empty()) std::cerr << stderr_text << "\nsecond line that must not be shown\n";
  if (stderr_key) std::cerr << "upstream said: bad key " << key << " (try again)\n";
  if (stderr_token) std::cerr << "upstream said: bad token " << session << "\n";
  if (junk_first) std::cout << "junk ";
  if (big) {
    std::cout << std::string(100000, 'x');
  } else if (garbage) {
    std::cout << "this is not json " << key << "\n";
  } else {
    std::cout << "{\"key\": \"" << key << "\"";
    if (token) std::cout << ", \"token\": \"" << session << "\"";
    if (!expires_at.empty()) std::cout << ", \"expires_at\": \"" << expires_at << "\"";
    std::cout << ", \"version\": 1}\n";
  }
  std::cout.flush();
  if (linger_ms > 0) {
    ::close(1);
    ::close(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
  }
  return exit_code;
}
