// The credential command: run with posix_spawn, read through wiped buffers, killed on timeout.
#include "credentials/command.hpp"

#include <fcntl.h>
#include <llmrt/plugin.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <llmrt/error.hpp>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "cleansing_memory.hpp"
#include "credentials/rfc3339.hpp"
#include "scrub.hpp"

extern char** environ;  // NOLINT: POSIX

namespace llmrt::credentials {
namespace {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

// The longest session token accepted, in bytes: the ABI's one limit (plugin.h).
constexpr std::size_t kMaxTokenSize = LLMRT_MAX_SESSION_TOKEN_SIZE;

class Descriptor {
 public:
  Descriptor() = default;
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Descriptor& operator=(Descriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~Descriptor() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Descriptor read;
  Descriptor write;
};

bool make_pipe(Pipe& pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  pipe.read = Descriptor(fds[0]);
  pipe.write = Descriptor(fds[1]);
  return true;
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attributes_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attributes_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // stdin from /dev/null, stdout and stderr into the pipes, nothing else inherited; a process group
  // of its own (so that a timeout kills whatever it started too), default signal handling and an
  // empty signal mask whatever the host set.
  int prepare(int stdout_fd, int stderr_fd) {
    int rc = ::posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, stdout_fd, 1);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, stderr_fd, 2);
    if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0) rc = ::posix_spawnattr_setsigmask(&attributes_, &none);
    if (rc == 0) rc = ::posix_spawnattr_setsigdefault(&attributes_, &all);
    if (rc == 0) rc = ::posix_spawnattr_setpgroup(&attributes_, 0);
    if (rc == 0) {
      rc = ::posix_spawnattr_setflags(
          &attributes_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    return rc;
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attributes() const { return &attributes_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attributes_;
};

// The command itself: whether it has exited, and how. waitpid() failing (ECHILD when the host
// ignores SIGCHLD and the kernel reaps children itself) leaves the status unknown, never "0".
struct Child {
  pid_t pid = -1;
  bool exited = false;
  int status = 0;
  int wait_error = 0;  // errno of a failed waitpid(); the exit status is then unknown

  bool done() const { return exited || wait_error != 0; }
  // Looks without waiting.
  void check() {
    if (done()) return;
    for (;;) {
      const pid_t got = ::waitpid(pid, &status, WNOHANG);
      if (got == pid) {
        exited = true;
      } else if (got < 0 && errno == EINTR) {
        continue;
      } else if (got < 0) {
        wait_error = errno;
      }
      return;
    }
  }
};

// Reads the command's stdout and stderr until both close, the deadline passes, or stdout grows
// past its cap; or, once the command has exited, as soon as stdout holds a complete credential (a
// process it started may keep the pipe open for ever, eg: after setsid(), out of reach of the
// process-group kill).
struct Captured {
  SecretString out = make_secret_string(kMaxCommandOutput + 1);
  SecretString err = make_secret_string(kMaxCommandStderr + 1);
  bool timed_out = false;
  bool too_much_output = false;
  std::string read_error;
};

// Reads what is there now from `fd` (non-blocking). Returns false at end of file or on an error.
bool read_available(int fd, bool is_out, Captured& captured, char (&chunk)[4096]) {
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (got <= 0) return false;
    const auto size = static_cast<std::size_t>(got);
    if (is_out) {
      if (captured.out.size() + size > kMaxCommandOutput) {
        captured.too_much_output = true;
        return false;
      }
      captured.out.append(chunk, size);
    } else if (captured.err.size() < kMaxCommandStderr) {
      captured.err.append(chunk, std::min(size, kMaxCommandStderr - captured.err.size()));
    }
  }
}

void capture(int out_fd, int err_fd, Child& child, SteadyClock::time_point deadline,
             Captured& captured) {
  bool out_open = true;
  bool err_open = true;
  char chunk[4096];
  while ((out_open || err_open) && !captured.too_much_output) {
    child.check();
    if (child.done()) {
      // Everything the command itself wrote is in the pipes now.
      if (out_open) out_open = read_available(out_fd, true, captured, chunk);
      if (err_open && !captured.too_much_output) {
        err_open = read_available(err_fd, false, captured, chunk);
      }
      if (captured.too_much_output || (!out_open && !err_open)) break;
      if (parse_command_output(std::string_view(captured.out.data(), captured.out.size()))
              .credential) {
        break;
      }
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      captured.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (out_open) fds[count++] = {out_fd, POLLIN, 0};
    if (err_open) fds[count++] = {err_fd, POLLIN, 0};
    // Short waits until the command has exited, to notice its exit while a pipe stays open.
    const long long wait_ms = child.done() ? std::min<long long>(left.count(), 60000)
                                           : std::min<long long>(left.count(), 20);
    const int ready = ::poll(fds, count, static_cast<int>(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      captured.read_error = std::string("cannot wait for its output: ") + std::strerror(errno);
      break;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      const bool is_out = fds[i].fd == out_fd;
      if (!read_available(fds[i].fd, is_out, captured, chunk))
        (is_out ? out_open : err_open) = false;
      if (captured.too_much_output) break;
    }
  }
  cleanse(chunk, sizeof chunk);
}

// Waits for the child to exit until `deadline`; then kills its process group and reaps it. Sets
// `killed` when it had to be killed; leaves child.wait_error set when its status cannot be known.
void reap(Child& child, SteadyClock::time_point deadline, bool kill_now, bool& killed) {
  if (!kill_now) {
    auto pause = std::chrono::microseconds(200);
    for (;;) {
      child.check();
      if (child.done()) return;
      if (SteadyClock::now() >= deadline) break;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
    }
  }
  killed = true;
  ::kill(-child.pid, SIGKILL);  // its process group: whatever it started goes too
  if (child.done()) return;
  ::kill(child.pid, SIGKILL);
  for (;;) {
    const pid_t got = ::waitpid(child.pid, &child.status, 0);
    if (got == child.pid) {
      child.exited = true;
      return;
    }
    if (got < 0 && errno == EINTR) continue;
    child.wait_error = got < 0 ? errno : ECHILD;
    return;
  }
}

// The first line of stderr, with every secret it may hold replaced (the key and token, and any
// run of 8 or more bytes of what the command printed on stdout, parsed or not), control
// characters removed and cut short. Empty when stderr was.
std::string first_stderr_line(std::string_view err, std::string_view out, std::string_view key,
                              std::string_view token) {
  std::string_view line = err.substr(0, err.find_first_of("\r\n"));
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  // The whole line is scrubbed before it is cut to the length shown.
  return scrub_secrets(line, {out, key, token}, kMaxStderrShown);
}

// The parsed output, in the wiping resource (declared first so that it outlives the value).
class OutputDocument {
 public:
  OutputDocument() = default;
  OutputDocument(const OutputDocument&) = delete;
  OutputDocument& operator=(const OutputDocument&) = delete;

  // False when the text is not JSON.
  bool parse(std::string_view text) {
    unsigned char scratch[4096];
    boost::system::error_code ec;
    {
      json::parser parser(json::storage_ptr(&resource_), {}, scratch, sizeof scratch);
      parser.reset(json::storage_ptr(&resource_));
      parser.write(text.data(), text.size(), ec);
      if (!ec) root_ = parser.release();
    }
    cleanse(scratch, sizeof scratch);
    return !ec;
  }
  const json::value& root() const { return root_; }

 private:
  CleansingResource resource_;
  json::value root_ = json::value(json::storage_ptr(&resource_));
};

bool printable_without_spaces(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7E) return false;
  }
  return true;
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return "it exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::sigabbrev_np(signal);
    return "it was killed by signal " + std::to_string(signal) +
           (name != nullptr ? " (SIG" + std::string(name) + ")" : std::string());
  }
  return "it ended abnormally";
}

}  // namespace

FetchResult parse_command_output(std::string_view output) {
  static constexpr std::string_view kShape =
      R"(it printed something other than a JSON object {"key": "...", "token": "...", )"
      R"("expires_at": "RFC 3339"})";
  OutputDocument document;
  if (!document.parse(output) || !document.root().is_object()) {
    return FetchResult::failure(std::string(kShape));
  }
  const json::object& object = document.root().as_object();
  const json::value* key = object.if_contains("key");
  if (key == nullptr || !key->is_string()) {
    return FetchResult::failure(std::string(kShape) + ": \"key\" is missing or not a string");
  }
  const json::string& key_text = key->as_string();
  try {
    validate_key(std::string_view(key_text.data(), key_text.size()), "the key it printed");
  } catch (const Error& error) {
    return FetchResult::failure(error.what());
  }

  Credential credential;
  credential.key = Key(std::string_view(key_text.data(), key_text.size()));
  if (const json::value* token = object.if_contains("token"); token && !token->is_null()) {
    if (!token->is_string()) return FetchResult::failure("its \"token\" is not a string");
    const json::string& token_text = token->as_string();
    const std::string_view view(token_text.data(), token_text.size());
    if (view.size() > kMaxTokenSize || !printable_without_spaces(view)) {
      return FetchResult::failure("its \"token\" is not 0 to " + std::to_string(kMaxTokenSize) +
                                  " bytes of printable ASCII without spaces");
    }
    credential.session_token = Key(view);
  }
  if (const json::value* expiry = object.if_contains("expires_at"); expiry && !expiry->is_null()) {
    if (!expiry->is_string()) return FetchResult::failure("its \"expires_at\" is not a string");
    const json::string& text = expiry->as_string();
    credential.expires_at = parse_rfc3339(std::string_view(text.data(), text.size()));
    if (!credential.expires_at) {
      // The value is not a secret, but it is cut short in case it is something else by mistake.
      return FetchResult::failure(
          "its \"expires_at\" is not an RFC 3339 time such as 2025-06-01T12:00:00Z");
    }
  }
  return FetchResult::success(std::move(credential));
}

FetchResult run_credential_command(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return FetchResult::failure("no command is configured", true);
  }
  Pipe out;
  Pipe err;
  if (!make_pipe(out) || !make_pipe(err)) {
    return FetchResult::failure(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  SpawnSetup setup;
  if (const int rc = setup.prepare(out.write.get(), err.write.get()); rc != 0) {
    return FetchResult::failure(std::string("cannot prepare to start it: ") + std::strerror(rc));
  }
  std::vector<std::string> arguments = spec.argv;  // posix_spawn wants char* const[]
  std::vector<char*> argv;
  argv.reserve(arguments.size() + 1);
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  const auto deadline = SteadyClock::now() + spec.timeout;
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, argv[0], setup.actions(), setup.attributes(), argv.data(), environ);
  out.write.reset();
  err.write.reset();
  if (spawned != 0) {
    return FetchResult::failure(std::string("it could not be started: ") + std::strerror(spawned),
                                true);
  }

  // Read without blocking: once the command has exited, what is in the pipes is drained at once.
  ::fcntl(out.read.get(), F_SETFL, ::fcntl(out.read.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(err.read.get(), F_SETFL, ::fcntl(err.read.get(), F_GETFL) | O_NONBLOCK);
  Child child;
  child.pid = pid;
  Captured captured;
  capture(out.read.get(), err.read.get(), child, deadline, captured);
  bool killed = false;
  reap(child, deadline,
       captured.timed_out || captured.too_much_output || !captured.read_error.empty(), killed);
  out.read.reset();
  err.read.reset();

  FetchResult result;
  std::string why;
  if (captured.too_much_output) {
    why = "it printed more than " + std::to_string(kMaxCommandOutput) + " bytes";
  } else if (!captured.read_error.empty()) {
    why = captured.read_error;
  } else if (captured.timed_out) {
    why = "it did not finish within " + std::to_string(spec.timeout.count()) + " ms and was killed";
  } else if (killed) {
    why = "it closed its output but did not exit within " + std::to_string(spec.timeout.count()) +
          " ms and was killed";
  } else if (!child.exited) {
    // Never read as success: with SIGCHLD ignored the kernel reaps the command itself, and its
    // exit status is lost.
    why = std::string("its exit status could not be read (waitpid: ") +
          std::strerror(child.wait_error) +
          (child.wait_error == ECHILD ? "; is SIGCHLD ignored in this process?)" : ")");
  } else if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
    why = status_text(child.status);
  }
  // Parsed even after a failure, so that a key it printed is known and scrubbed from stderr.
  if (!captured.too_much_output) {
    result = parse_command_output(std::string_view(captured.out.data(), captured.out.size()));
  }
  const std::string_view key =
      result.credential ? result.credential->key.reveal() : std::string_view();
  const std::string_view token =
      result.credential ? result.credential->session_token.reveal() : std::string_view();
  const std::string line =
      first_stderr_line(std::string_view(captured.err.data(), captured.err.size()),
                        std::string_view(captured.out.data(), captured.out.size()), key, token);
  if (why.empty() && result.credential) return result;
  if (why.empty()) why = result.error;
  if (!line.empty()) why += " (stderr: " + line + ")";
  return FetchResult::failure(why);
}

}  // namespace llmrt::credentials
