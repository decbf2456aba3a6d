// The keys file of a runtime, parsed once and kept while it is unchanged (issue 13): calls that
// reach the keys file read a shared, immutable document instead of opening, checking and parsing
// the file each time.
//
// The document lives in locked, wiped pages (KeysDocument::Memory::locked) and is dropped (and
// wiped once the last call using it lets go) when a change is noticed and when the cache is
// destroyed. A change is noticed by KeysFileWatch (inotify, else stat() at most every
// check_interval) and by any write of a keys file by this process (KeysFile::set and the other
// writers call note_keys_file_written()), so a change made by this process is seen by the very
// next call, and one made by another process as soon as the kernel has told the watch thread.
//
// A file that is refused (unsafe, corrupt) is not kept: every call reads it again and fails with
// the same Error(keys_file) as before the cache, until it is fixed. A missing file is kept as
// "missing" (no system call per call for models without any key).
//
// Threading: current() may be called from any thread; one thread reads the file while the others
// wait for it (single flight).
#ifndef LLMRT_KEYS_CACHE_KEYS_FILE_CACHE_HPP
#define LLMRT_KEYS_CACHE_KEYS_FILE_CACHE_HPP

#include <llmrt/keys_file.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "keys_cache/keys_document.hpp"
#include "keys_cache/keys_file_watch.hpp"

namespace llmrt {

class KeysFileCache {
 public:
  KeysFileCache(std::filesystem::path path, const KeysFileCaching& settings);

  // The file's contents now: nullptr when it does not exist. Throws Error(keys_file) when it is
  // refused. The caller may keep the document as long as it likes; it is never modified.
  std::shared_ptr<const KeysDocument> current();

  // See KeysFile::catch_up().
  void catch_up() { watch().catch_up(); }

  // True while inotify watches the directory (false: the stat() fallback).
  bool watching() { return watch().watching(); }

 private:
  // Made on first use, so that a runtime whose calls never reach the keys file (a CLI call with
  // --key) starts no thread and makes no system call for it.
  KeysFileWatch& watch() {
    std::call_once(watch_made_,
                   [this] { watch_ = std::make_unique<KeysFileWatch>(path_, settings_); });
    return *watch_;
  }

  const std::filesystem::path path_;
  const KeysFileCaching settings_;
  std::once_flag watch_made_;
  std::unique_ptr<KeysFileWatch> watch_;
  std::mutex mutex_;  // guards the members below, and makes reading the file single-flight
  bool valid_ = false;
  std::uint64_t seen_generation_ = 0;
  std::uint64_t seen_writes_ = 0;
  std::shared_ptr<const KeysDocument> document_;
};

// Called by every write of a keys file in this process (after the rename): every cache reads its
// file again on its next call.
void note_keys_file_written() noexcept;

}  // namespace llmrt

#endif  // LLMRT_KEYS_CACHE_KEYS_FILE_CACHE_HPP
