#include "plugin_log.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace llmrt::isolation {
namespace {

constexpr std::size_t kMaxLine = 1024;

void write_stderr(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(stderr);
}

}  // namespace

PluginLog::PluginLog(int fd, std::string name, LogFunction log, std::size_t lines_per_second)
    : fd_(fd),
      stop_fd_(::eventfd(0, EFD_CLOEXEC)),
      prefix_("[plugin " + name + "] "),
      log_(log ? std::move(log) : LogFunction(&write_stderr)),
      lines_per_second_(lines_per_second == 0 ? 1 : lines_per_second) {
  reader_ = std::thread([this] { run(); });
}

PluginLog::~PluginLog() {
  const std::uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof one);
  reader_.join();
  ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void PluginLog::emit(std::string_view line) {
  try {
    log_(prefix_ + std::string(line));
  } catch (...) {
    // A log that fails loses a line, never the host.
  }
}

void PluginLog::run() {
  using Clock = std::chrono::steady_clock;
  std::string line;
  bool cut = false;  // the rest of an over-long line is being skipped
  Clock::time_point window = Clock::now();
  std::size_t lines_in_window = 0;
  std::size_t dropped = 0;
  auto deliver = [&](std::string_view text) {
    const Clock::time_point now = Clock::now();
    if (now - window >= std::chrono::seconds(1)) {
      if (dropped > 0) emit("(" + std::to_string(dropped) + " lines dropped: too many)");
      window = now;
      lines_in_window = 0;
      dropped = 0;
    }
    if (lines_in_window < lines_per_second_) {
      ++lines_in_window;
      emit(text);
    } else {
      ++dropped;
    }
  };
  char block[4096];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) break;
    const ssize_t got = ::read(fd_, block, sizeof block);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    for (ssize_t i = 0; i < got; ++i) {
      const char c = block[i];
      if (c == '\n') {
        if (!cut) deliver(line);
        line.clear();
        cut = false;
      } else if (!cut) {
        line.push_back(static_cast<unsigned char>(c) < 0x20 && c != '\t' ? ' ' : c);
        if (line.size() >= kMaxLine) {
          deliver(line + "...");
          line.clear();
          cut = true;
        }
      }
    }
  }
  if (!line.empty() && !cut) deliver(line);
  if (dropped > 0) emit("(" + std::to_string(dropped) + " lines dropped: too many)");
}

}  // namespace llmrt::isolation
