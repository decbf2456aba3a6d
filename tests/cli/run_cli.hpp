// Runs the real `llmrt` binary the way a user would, in an environment the test controls: only
// PATH, HOME and LLMRT_USER_PATH (both inside a fresh temporary directory) and whatever the test
// sets. Feeds stdin from a string and captures stdout, stderr and the exit code.
#ifndef LLMRT_TESTS_CLI_RUN_CLI_HPP
#define LLMRT_TESTS_CLI_RUN_CLI_HPP

#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace llmrt::test {

inline const std::filesystem::path kCliPath = LLMRT_CLI_PATH;

struct CliResult {
  int exit_code = -1;  // the process's exit status; 128 + N when killed by signal N
  std::string out;
  std::string err;
};

// The whole result, for a failure message.
inline std::string describe(const CliResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out +
         "\n--- stderr\n" + result.err;
}

// One user's world: a temporary HOME and user directory, and the environment variables a test
// adds. Each run starts from exactly that environment.
class CliRunner {
 public:
  CliRunner() {
    std::filesystem::create_directories(home());
    // The user directory itself is not created: the CLI must create it (0700) when it writes.
  }

  const std::filesystem::path& temp() const { return temp_.path(); }
  std::filesystem::path home() const { return temp_.path() / "home"; }
  std::filesystem::path user_dir() const { return temp_.path() / "user"; }
  std::filesystem::path keys_file() const { return user_dir() / "keys.json"; }

  // Adds (or replaces) an environment variable for every later run.
  void set_env(const std::string& name, const std::string& value) { extra_env_[name] = value; }
  void unset_env(const std::string& name) { extra_env_.erase(name); }

  // Runs every later command through `prefix` (eg: {"/bin/sh", "-c", "ulimit -f 0; exec \"$0\"
  // \"$@\""}): the llmrt path and its arguments follow it. Empty: run llmrt directly.
  void set_prefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }

  // Runs `llmrt args...` with `stdin_text` on its standard input (a pipe, never a terminal).
  CliResult run(const std::vector<std::string>& args, const std::string& stdin_text = "",
                std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    std::vector<std::string> argv_strings = prefix_;
    argv_strings.push_back(kCliPath.string());
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_strings = environment();
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    Pipe in, out, err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read_end, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write_end, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write_end, STDERR_FILENO);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      throw std::runtime_error("cannot start " + kCliPath.string() + ": " + std::strerror(spawned));
    }
    in.close_read();
    out.close_write();
    err.close_write();

    CliResult result;
    const bool finished = pump(in, out, err, stdin_text, result, timeout);
    if (!finished) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.exit_code = 128 + WTERMSIG(status);
    }
    if (!finished) result.err += "\n[run_cli: timed out, killed]";
    return result;
  }

 private:
  struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
      read_end = fds[0];
      write_end = fds[1];
    }
    ~Pipe() {
      close_read();
      close_write();
    }
    void close_read() {
      if (read_end >= 0) ::close(read_end);
      read_end = -1;
    }
    void close_write() {
      if (write_end >= 0) ::close(write_end);
      write_end = -1;
    }
  };

  std::vector<std::string> environment() const {
    std::map<std::string, std::string> env;
    if (const char* path = std::getenv("PATH")) env["PATH"] = path;
    // Sanitizer settings of the test run apply to the child too.
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const auto equals = text.find('=');
      if (equals == std::string_view::npos) continue;
      const std::string_view name = text.substr(0, equals);
      if (name.starts_with("ASAN_") || name.starts_with("UBSAN_") || name.starts_with("LSAN_") ||
          name.starts_with("TSAN_")) {
        env[std::string(name)] = std::string(text.substr(equals + 1));
      }
    }
    env["HOME"] = home().string();
    env["LLMRT_USER_PATH"] = user_dir().string();
    for (const auto& [name, value] : extra_env_) env[name] = value;
    std::vector<std::string> entries;
    for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
    return entries;
  }

  // Writes stdin and reads stdout and stderr until both close. False on timeout.
  static bool pump(Pipe& in, Pipe& out, Pipe& err, const std::string& stdin_text, CliResult& result,
                   std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t written = 0;
    ::fcntl(in.write_end, F_SETFL, O_NONBLOCK);
    if (stdin_text.empty()) in.close_write();
    ::signal(SIGPIPE, SIG_IGN);  // the child may exit without reading its stdin
    char buffer[65536];
    while (out.read_end >= 0 || err.read_end >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fds[3] = {
          {out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}, {in.write_end, POLLOUT, 0}};
      const int ready = ::poll(fds, 3, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw std::runtime_error("poll failed");
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        Pipe& pipe = i == 0 ? out : err;
        const ssize_t n = ::read(pipe.read_end, buffer, sizeof buffer);
        if (n > 0) {
          (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          pipe.close_read();
        }
      }
      if (fds[2].revents != 0) {
        const ssize_t n =
            ::write(in.write_end, stdin_text.data() + written, stdin_text.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) {
          in.close_write();
        }
      }
    }
    in.close_write();
    return true;
  }

  TempDir temp_;
  std::map<std::string, std::string> extra_env_;
  std::vector<std::string> prefix_;
};

}  // namespace llmrt::test

#endif  // LLMRT_TESTS_CLI_RUN_CLI_HPP
