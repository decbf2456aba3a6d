// Revoked session keys: a text file with one entry per line, re-read whenever it changes on disk.
//
//   # revoked 2026-03-01: laptop stolen
//   3f2a9c01b7de4410        a session key's key_id (the 4th field of llmrt-sk1.*)
//   tenant:acme             every session key of tenant acme
//
// Blank lines and everything from '#' to the end of a line are ignored.
#ifndef LLMRT_SERVE_DENY_LIST_HPP
#define LLMRT_SERVE_DENY_LIST_HPP

#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::serve {

// unavailable: the file cannot be trusted or read (not a regular file, a symbolic link, another
// user's, writable by others, too large): fail closed, every session key is refused (HTTP 503).
enum class Denial { none, key_id, tenant, unavailable };

// The largest deny-list file read (tens of thousands of entries).
inline constexpr std::size_t kMaxDenyListSize = 1024 * 1024;

class DenyList {
 public:
  // Reads `path` now (through SafeFile: never blocks, a regular file of the caller's, not writable
  // by others, at most kMaxDenyListSize): Error(io) if it cannot be read or trusted, Error(usage)
  // naming each bad line if any entry is malformed. Later problems are reported on `warnings` (not
  // owned; may be nullptr).
  DenyList(std::filesystem::path path, std::FILE* warnings);

  // Whether a session key of `tenant` with `key_id` is revoked. First re-reads the file if its
  // inode, size, modification or change time differ from the last read. A deleted file keeps the
  // last list in force; a file that cannot be trusted or read (see Denial::unavailable) fails
  // closed with one warning until it changes; malformed lines in a changed file are skipped with a
  // warning while its valid entries take effect. Thread-safe.
  Denial check(std::string_view tenant, std::string_view key_id);

 private:
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    long long mtime_ns = 0;
    long long ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Parsed {
    std::set<std::string, std::less<>> key_ids;
    std::set<std::string, std::less<>> tenants;
    std::vector<std::string> problems;  // "line N: ..."
  };

  static Parsed parse(std::string_view text);
  // Re-reads the file if it changed; call with mutex_ held.
  void refresh_locked();
  void warn(const std::string& message);

  const std::filesystem::path path_;
  std::FILE* const warnings_;
  std::mutex mutex_;
  Stamp stamp_;
  bool missing_reported_ = false;
  std::string broken_;  // why the file is refused; empty when it is in use
  std::set<std::string, std::less<>> key_ids_;
  std::set<std::string, std::less<>> tenants_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_DENY_LIST_HPP
