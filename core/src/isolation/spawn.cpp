#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "protocol.hpp"

extern char** environ;

namespace llmrt::isolation {
namespace {

// Variables a plugin may legitimately need, none of which holds a key.
constexpr const char* kHarmlessVariables[] = {
    "HOME",         "PATH",          "LANG",          "LC_ALL",       "LC_CTYPE",
    "TZ",           "TMPDIR",        "SSL_CERT_FILE", "SSL_CERT_DIR", "http_proxy",
    "https_proxy",  "no_proxy",      "HTTP_PROXY",    "HTTPS_PROXY",  "NO_PROXY",
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",  "LSAN_OPTIONS",
};

// The one thread every worker is spawned from; it lives as long as the process (it is never
// joined, and its state is never destroyed, so that no static destructor races it at exit).
class Launcher {
 public:
  static Launcher& instance() {
    static Launcher* launcher = new Launcher;
    return *launcher;
  }

  template <class Result>
  Result run(std::function<Result()> task) {
    std::packaged_task<Result()> packaged(std::move(task));
    std::future<Result> result = packaged.get_future();
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace_back([&packaged] { packaged(); });
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  Launcher() {
    std::thread([this] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(mutex_);
          wake_.wait(lock, [this] { return !tasks_.empty(); });
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        task();
      }
    }).detach();
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
  }
};

class FdPair {
 public:
  ~FdPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  int fds[2] = {-1, -1};
};

std::runtime_error spawn_error(const std::filesystem::path& executable, int error) {
  return std::runtime_error("cannot start the plugin host '" + executable.string() +
                            "': " + std::strerror(error));
}

}  // namespace

std::vector<std::string> worker_environment(const std::vector<std::string>& pass_environment) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool pass = name.substr(0, 6) == "LLMRT_";
    for (const char* harmless : kHarmlessVariables) pass = pass || name == harmless;
    for (const std::string& extra : pass_environment) pass = pass || name == extra;
    if (pass) result.emplace_back(text);
  }
  return result;
}

std::filesystem::path default_worker_path() {
  const std::filesystem::path library_dir = boost::dll::this_line_location().parent_path().string();
  std::error_code ec;
  const std::filesystem::path path =
      std::filesystem::weakly_canonical(library_dir / LLMRT_WORKER_RELATIVE_PATH, ec);
  return ec ? library_dir / LLMRT_WORKER_RELATIVE_PATH : path;
}

SpawnedWorker spawn_worker(const std::filesystem::path& executable,
                           const std::vector<std::string>& pass_environment,
                           const std::vector<std::string>& settings) {
  FdPair socket_pair;
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socket_pair.fds) != 0) {
    throw spawn_error(executable, errno);
  }
  FdPair log_pipe;
  if (::pipe2(log_pipe.fds, O_CLOEXEC) != 0) throw spawn_error(executable, errno);

  std::vector<std::string> environment = worker_environment(pass_environment);
  for (const std::string& setting : settings) {
    const std::string_view name = std::string_view(setting).substr(0, setting.find('=') + 1);
    std::erase_if(environment, [&](const std::string& entry) { return entry.starts_with(name); });
    environment.push_back(setting);
  }
  std::vector<char*> envp;
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  const std::string program = executable.string();
  const std::string parent = std::to_string(::getpid());
  char* argv[] = {const_cast<char*>("llmrt-plugin-host"), const_cast<char*>(parent.c_str()),
                  nullptr};

  SpawnSetup setup;
  int rc = ::posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, log_pipe.fds[1], 1);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, log_pipe.fds[1], 2);
  if (rc == 0) {
    rc = ::posix_spawn_file_actions_adddup2(&setup.actions, socket_pair.fds[1], kWorkerSocketFd);
  }
  // Nothing else the host has open reaches the plugin (every fd of ours is close-on-exec too).
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, kWorkerSocketFd + 1);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, signal_number);
  }
  if (rc == 0) {
    rc = ::posix_spawnattr_setflags(
        &setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) rc = ::posix_spawnattr_setpgroup(&setup.attributes, 0);
  if (rc == 0) rc = ::posix_spawnattr_setsigmask(&setup.attributes, &none);
  if (rc == 0) rc = ::posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  if (rc != 0) throw spawn_error(executable, rc);

  pid_t pid = -1;
  rc = Launcher::instance().run<int>([&] {
    return ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attributes, argv,
                         envp.data());
  });
  if (rc != 0) throw spawn_error(executable, rc);

  SpawnedWorker worker;
  worker.pid = pid;
  worker.socket_fd = std::exchange(socket_pair.fds[0], -1);
  worker.log_fd = std::exchange(log_pipe.fds[0], -1);
  ::fcntl(worker.socket_fd, F_SETFL, ::fcntl(worker.socket_fd, F_GETFL) | O_NONBLOCK);
  return worker;
}

void kill_and_reap(pid_t pid) noexcept {
  if (pid <= 1) return;   // never kill(-1) or kill(0): they reach far more than one worker
  ::kill(-pid, SIGKILL);  // the group: a plugin's own children go too
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace llmrt::isolation
