// Tells, without a system call per question, whether the keys file may have changed: a number
// (the generation) that goes up after every change to the file or to its directory.
//
// With inotify (Linux), a background thread blocks on an inotify descriptor watching the user
// directory (the directory, not the file, so that an editor's rename over the file, a deletion
// and a re-creation are seen) and raises the generation for every event about the keys file's
// name or the directory itself: IN_CLOSE_WRITE, IN_MODIFY, IN_MOVED_TO, IN_MOVED_FROM, IN_DELETE,
// IN_CREATE, IN_ATTRIB (chmod, chown), and the directory being deleted or moved. Asking costs two
// atomic loads. Events about other names (the temporary file of an update, the lock file) are
// ignored.
//
// Without inotify (no inotify instance could be made, or the directory cannot be watched, eg:
// it does not exist yet), the answer is an lstat() of the directory and of the file at most every
// `check_interval` (KeysFileCaching); the generation goes up when what they say changed (device,
// inode, size, mode, owner, modification or change time), or when the last look came within 2 s
// of the last change (two changes that close may carry the same time stamps). Each of those
// checks also tries to watch the directory again, so that a directory created later is watched
// from then on.
//
// Threading: generation() may be called from any thread. The destructor stops the thread.
// Errors: none; a watch that cannot be made falls back to stat().
#ifndef LLMRT_KEYS_CACHE_KEYS_FILE_WATCH_HPP
#define LLMRT_KEYS_CACHE_KEYS_FILE_WATCH_HPP

#include <llmrt/keys_file.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace llmrt {

class KeysFileWatch {
 public:
  KeysFileWatch(const std::filesystem::path& file, const KeysFileCaching& settings);
  ~KeysFileWatch();
  KeysFileWatch(const KeysFileWatch&) = delete;
  KeysFileWatch& operator=(const KeysFileWatch&) = delete;

  // Goes up after every change noticed. Call before reading the file: a change made while it is
  // read then shows in the next answer.
  std::uint64_t generation() {
    if (watching_.load(std::memory_order_acquire)) {
      return generation_.load(std::memory_order_acquire);
    }
    return generation_by_stat();
  }

  // Returns once every change the kernel has reported so far has raised the generation (waits for
  // the thread to take in the events already queued, at most 2 s); without a watch, makes the
  // next generation() check with stat(). Costs a poll() or two: not for every call.
  void catch_up();

  // True while inotify watches the directory (false: the stat() fallback is used).
  bool watching() const { return watching_.load(std::memory_order_acquire); }

 private:
  // What lstat() says of the directory and the file, compared between two checks.
  struct Look {
    bool operator==(const Look&) const = default;
    long long dir[8]{};  // device, inode, mode, owner, ctime, mtime, size, links
    long long file[8]{};
  };
  Look look() const;
  std::uint64_t generation_by_stat();
  bool watch_directory();  // with mutex_ held
  void wait_for_events();  // the background thread
  void read_events();

  const std::filesystem::path dir_;
  const std::string name_;  // eg: "keys.json"
  const std::int64_t interval_ns_;
  int inotify_ = -1;  // -1: no inotify (disabled or unavailable)
  int wake_ = -1;     // an eventfd that stops the thread
  std::atomic<bool> watching_{false};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int64_t> next_check_ns_{0};  // steady clock, for the stat() fallback
  std::mutex mutex_;                            // guards the two below
  int watch_ = -1;                              // the directory's watch descriptor
  Look last_;
  // The last look was taken so soon after the file or the directory changed that another change
  // within the file system's timestamp granularity would look the same ("racy", as git calls it):
  // the next check reads the file again whatever it sees.
  bool last_racy_ = false;
  std::mutex drain_mutex_;  // held by the thread from reading events to raising the generation
  std::thread thread_;
};

}  // namespace llmrt

#endif  // LLMRT_KEYS_CACHE_KEYS_FILE_WATCH_HPP
