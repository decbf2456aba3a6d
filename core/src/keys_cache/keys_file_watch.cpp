#include "keys_cache/keys_file_watch.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include "keys_cache/keys_cache_counters.hpp"

namespace llmrt {
namespace {

// What changes the file a call would read, or whether it may be read at all.
constexpr std::uint32_t kFileEvents =
    IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB;
// Time stamps may be as coarse as this (a timer tick on Linux file systems, 2 s on FAT): a look
// at a file changed more recently than that cannot tell it from the next change.
constexpr long long kRacyWindowNs = 2'000'000'000LL;

// The directory itself going away or moving: the watch no longer names the user directory.
constexpr std::uint32_t kLostEvents = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void describe(const char* path, long long* out) {
  struct stat status {};
  if (::lstat(path, &status) != 0) {
    out[0] = -1 - errno;  // missing (or unreadable): a state of its own
    return;
  }
  out[0] = static_cast<long long>(status.st_dev);
  out[1] = static_cast<long long>(status.st_ino);
  out[2] = static_cast<long long>(status.st_mode);
  out[3] = static_cast<long long>(status.st_uid);
  out[4] = status.st_ctim.tv_sec * 1000000000LL + status.st_ctim.tv_nsec;
  out[5] = status.st_mtim.tv_sec * 1000000000LL + status.st_mtim.tv_nsec;
  out[6] = static_cast<long long>(status.st_size);
  out[7] = static_cast<long long>(status.st_nlink);
}

}  // namespace

KeysFileWatch::KeysFileWatch(const std::filesystem::path& file, const KeysFileCaching& settings)
    : dir_(file.has_parent_path() ? file.parent_path() : std::filesystem::path(".")),
      name_(file.filename().string()),
      interval_ns_(
          std::chrono::duration_cast<std::chrono::nanoseconds>(settings.check_interval).count()) {
  if (settings.use_inotify) {
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_ >= 0) wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (inotify_ >= 0 && wake_ < 0) {
      ::close(inotify_);
      inotify_ = -1;
    }
  }
  std::lock_guard lock(mutex_);
  last_ = look();
  if (inotify_ >= 0) {
    try {
      thread_ = std::thread([this] { wait_for_events(); });
      watch_directory();
    } catch (const std::system_error&) {
      // No thread to be had (a thread limit): the stat() fallback needs none.
      ::close(inotify_);
      ::close(wake_);
      inotify_ = wake_ = -1;
    }
  }
}

KeysFileWatch::~KeysFileWatch() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    while (::write(wake_, &one, sizeof one) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (inotify_ >= 0) ::close(inotify_);
  if (wake_ >= 0) ::close(wake_);
}

KeysFileWatch::Look KeysFileWatch::look() const {
  Look seen;
  describe(dir_.c_str(), seen.dir);
  const std::filesystem::path file = dir_ / name_;
  describe(file.c_str(), seen.file);
  return seen;
}

bool KeysFileWatch::watch_directory() {
  if (inotify_ < 0) return false;
  // IN_DONT_FOLLOW: a directory replaced by a symbolic link is not watched through it (and is
  // refused when read); IN_ONLYDIR: nor is a file put in its place.
  const int watch = ::inotify_add_watch(
      inotify_, dir_.c_str(),
      kFileEvents | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK);
  if (watch < 0) return false;
  watch_ = watch;
  watching_.store(true, std::memory_order_release);
  return true;
}

std::uint64_t KeysFileWatch::generation_by_stat() {
  const std::int64_t now = now_ns();
  if (now < next_check_ns_.load(std::memory_order_acquire)) {
    return generation_.load(std::memory_order_acquire);
  }
  std::lock_guard lock(mutex_);
  if (watching_.load(std::memory_order_acquire)) return generation_.load(std::memory_order_acquire);
  if (now < next_check_ns_.load(std::memory_order_relaxed)) {
    return generation_.load(std::memory_order_acquire);  // another thread just checked
  }
  keys_cache_counters().stat_checks.fetch_add(1, std::memory_order_relaxed);
  const Look seen = look();
  // Watched from now on: whatever happened before the watch was made is read again.
  const bool watched = watch_directory();
  if (watched || last_racy_ || !(seen == last_)) {
    last_ = seen;
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  timespec wall{};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  const long long wall_ns = wall.tv_sec * 1000000000LL + wall.tv_nsec;
  last_racy_ = wall_ns - std::max(seen.dir[4], seen.file[4]) < kRacyWindowNs;
  next_check_ns_.store(now + interval_ns_, std::memory_order_release);
  return generation_.load(std::memory_order_acquire);
}

void KeysFileWatch::wait_for_events() {
  ::pthread_setname_np(::pthread_self(), "llmrt-keys");
  pollfd fds[2] = {{inotify_, POLLIN, 0}, {wake_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    if (fds[0].revents != 0) read_events();
  }
}

void KeysFileWatch::catch_up() {
  if (watching_.load(std::memory_order_acquire)) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
      pollfd queued = {inotify_, POLLIN, 0};
      if (::poll(&queued, 1, 0) <= 0 || (queued.revents & POLLIN) == 0) break;
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Nothing queued any more: events already read are taken in once the thread lets go.
    std::lock_guard drained(drain_mutex_);
  }
  if (!watching_.load(std::memory_order_acquire)) {
    next_check_ns_.store(0, std::memory_order_release);
  }
}

void KeysFileWatch::read_events() {
  std::lock_guard drained(drain_mutex_);
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(inotify_, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;  // EAGAIN: drained
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      for (ssize_t at = 0; at < got;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if ((event->mask & IN_Q_OVERFLOW) != 0) {
          changed = true;  // events were lost: anything may have happened
          continue;
        }
        if (event->wd != watch_) continue;  // an earlier watch's last words
        if ((event->mask & kLostEvents) != 0) {
          // Deleted, moved or unmounted: the path may name another directory now. Without a
          // watch, generation() checks with stat() (and tries to watch the path again) at once.
          if ((event->mask & IN_IGNORED) == 0) ::inotify_rm_watch(inotify_, watch_);
          watch_ = -1;
          last_ = Look{};
          next_check_ns_.store(0, std::memory_order_release);
          watching_.store(false, std::memory_order_release);
          changed = true;
          continue;
        }
        // No name: the directory itself (its mode or owner); else only the keys file's name.
        if (event->len == 0 || name_ == event->name) changed = true;
      }
    }
    if (changed) generation_.fetch_add(1, std::memory_order_acq_rel);
  }
}

}  // namespace llmrt
