#include "isolation.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace llmrt::conformance {
namespace {

constexpr std::size_t kMaxCapturedOutput = 64 * 1024;
constexpr int kExitBodyThrew = 121;

int g_report_fd = -1;  // set in an isolated child: where its verdict goes

// A page shared by the parent and one child: the child's current activity, NUL-terminated.
constexpr std::size_t kActivitySize = 4096;
char* g_activity = nullptr;  // set in an isolated child
std::mutex g_activity_mutex;

void write_all(int fd, const char* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

// Keeps the first and the last `kMaxCapturedOutput` bytes.
void append_capped(std::string& text, const char* data, std::size_t size) {
  text.append(data, size);
  if (text.size() > 3 * kMaxCapturedOutput) {
    text.erase(kMaxCapturedOutput, text.size() - 2 * kMaxCapturedOutput);
    text.insert(kMaxCapturedOutput, "\n");
  }
}

// The first and last lines of what the child printed: a sanitizer report or a terminate message
// says what happened first, and where last.
std::string head_and_tail_lines(const std::string& text, std::size_t head, std::size_t tail) {
  std::vector<std::string_view> lines;
  std::string_view rest(text);
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  std::string shown;
  const auto add = [&](std::string_view line) {
    if (!shown.empty()) shown += '\n';
    shown.append(line);
  };
  if (lines.size() <= head + tail) {
    for (const std::string_view line : lines) add(line);
    return shown;
  }
  for (std::size_t i = 0; i < head; ++i) add(lines[i]);
  add("... (" + std::to_string(lines.size() - head - tail) + " lines)");
  for (std::size_t i = lines.size() - tail; i < lines.size(); ++i) add(lines[i]);
  return shown;
}

[[noreturn]] void run_child(const std::function<std::string()>& body, int report_fd, int output_fd,
                            char* activity) {
  // Its own process group, so that a timeout also ends what the plugin started; and never outlive
  // the conformance run.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(output_fd, STDOUT_FILENO);
  ::dup2(output_fd, STDERR_FILENO);
  g_report_fd = report_fd;
  g_activity = activity;
  std::string payload;
  try {
    payload = body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "llmrt-conformance: the check itself failed: %s\n", error.what());
    std::fflush(stderr);
    ::_exit(kExitBodyThrew);
  } catch (...) {
    std::fputs("llmrt-conformance: the check itself failed\n", stderr);
    std::fflush(stderr);
    ::_exit(kExitBodyThrew);
  }
  report_and_exit(payload.data(), payload.size());
  ::_exit(0);  // not reached
}

}  // namespace

void note_activity(std::string_view what) noexcept {
  if (g_activity == nullptr) return;
  std::lock_guard lock(g_activity_mutex);
  const std::size_t size = std::min(what.size(), kActivitySize - 1);
  if (size > 0) std::memcpy(g_activity, what.data(), size);
  g_activity[size] = '\0';
}

bool in_isolated_child() noexcept {
  return g_report_fd >= 0;
}

void report_and_exit(const char* payload, std::size_t size) noexcept {
  if (g_report_fd < 0) return;
  write_all(g_report_fd, payload, size);
  ::_exit(0);
}

std::string signal_description(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  const char* description = ::strsignal(signal_number);
  std::string text =
      abbreviation != nullptr ? "SIG" + std::string(abbreviation) : std::to_string(signal_number);
  if (description != nullptr) text += " (" + std::string(description) + ")";
  return text;
}

Isolated run_isolated(const std::function<std::string()>& body, unsigned timeout_ms) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);

  std::array<int, 2> report{-1, -1};
  std::array<int, 2> output{-1, -1};
  if (::pipe2(report.data(), O_CLOEXEC) != 0 || ::pipe2(output.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  void* shared =
      ::mmap(nullptr, kActivitySize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
  auto* activity = static_cast<char*>(shared);
  activity[0] = '\0';
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    for (const int fd : {report[0], report[1], output[0], output[1]}) ::close(fd);
    ::munmap(shared, kActivitySize);
    throw std::runtime_error(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    ::close(report[0]);
    ::close(output[0]);
    run_child(body, report[1], output[1], activity);
  }
  ::close(report[1]);
  ::close(output[1]);

  Isolated result;
  std::string captured;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::array<pollfd, 2> fds{pollfd{report[0], POLLIN, 0}, pollfd{output[0], POLLIN, 0}};
  bool timed_out = false;
  std::array<char, 16384> buffer{};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      if (i == 0) {
        result.payload.append(buffer.data(), static_cast<std::size_t>(got));
      } else {
        append_capped(captured, buffer.data(), static_cast<std::size_t>(got));
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.output = head_and_tail_lines(captured, 6, 10);
  activity[kActivitySize - 1] = '\0';
  result.activity = activity;
  ::munmap(shared, kActivitySize);

  if (timed_out) {
    result.end = Isolated::End::timed_out;
    result.failure = "timed out after " + std::to_string(timeout_ms) + " ms (the check was killed)";
  } else if (WIFSIGNALED(status)) {
    result.end = Isolated::End::crashed;
    result.failure = "the check's process was killed by " + signal_description(WTERMSIG(status));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !result.payload.empty()) {
    result.end = Isolated::End::reported;
  } else {
    result.end = Isolated::End::exited;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.failure = code == kExitBodyThrew
                         ? std::string("the check could not run")
                         : "the check's process exited with status " + std::to_string(code) +
                               " before reporting a result (the plugin called exit(), or a "
                               "sanitizer ended the process)";
  }
  return result;
}

Isolated run_in_process(const std::function<std::string()>& body) {
  Isolated result;
  try {
    result.payload = body();
  } catch (const std::exception& error) {
    result.end = Isolated::End::exited;
    result.failure = std::string("the check could not run: ") + error.what();
  }
  return result;
}

Deadline::Deadline(std::chrono::milliseconds limit, std::string payload_if_missed)
    : payload_(std::move(payload_if_missed)) {
  watcher_ = std::thread([this, limit] {
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, limit, [this] { return disarmed_; })) return;
    missed_ = true;
    report_and_exit(payload_.data(), payload_.size());  // returns only when in-process
  });
}

Deadline::~Deadline() {
  disarm();
}

bool Deadline::disarm() {
  {
    std::lock_guard lock(mutex_);
    disarmed_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard lock(mutex_);
  return missed_;
}

}  // namespace llmrt::conformance
