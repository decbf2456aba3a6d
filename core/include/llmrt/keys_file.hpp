// The stored keys file, keys.json in the user directory: {"openai": "sk-...", ...}. A name may
// also hold several versions of its key (docs/keys.md#key-versions):
//   "openai": {"versions": [{"label": "current", "key": "sk-...", "added": "..."},
//                           {"label": "pending", "key": "sk-...", "weight": 10, "added": "..."}]}
#ifndef LLMRT_KEYS_FILE_HPP
#define LLMRT_KEYS_FILE_HPP

#include <llmrt/key.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

// The largest keys file llmrt reads (1 MiB: thousands of keys of the longest kind).
inline constexpr std::size_t kMaxKeysFileSize = 1024 * 1024;

// Whether a KeysFile keeps the file's parsed contents between calls, and how it notices changes
// (docs/keys.md#how-a-change-is-noticed). A Runtime's keys file is cached (RuntimeConfig).
struct KeysFileCaching {
  bool enabled = true;  // false: every read opens, checks and parses the file
  // Watch the directory with inotify where the system allows it; false: always the stat()
  // fallback below.
  bool use_inotify = true;
  // Without inotify: at most one lstat() of the directory and of the file per interval, so a
  // change made by another process is seen at most this long after it lands (0: every call).
  std::chrono::milliseconds check_interval{100};
};

class KeysFileCache;
class KeysDocument;

// One version of a stored key. The plain form {"name": "key"} is one version labelled "current"
// with no weight and no added time.
struct StoredKeyVersion {
  std::string label;                    // eg: "current", "pending", "previous", "tier2"
  std::optional<std::uint32_t> weight;  // eg: 10; none: "current" takes what the others leave of
                                        // 100, any other version takes no calls
  std::string added;                    // eg: "2026-11-30T12:00:00Z"; "" when not known
  Key key;
};

// Reads and writes one keys file. Made with KeysFileCaching, it parses the file once and keeps its
// contents, in locked, wiped memory, until the file changes (copies share that cache); made with
// a path alone, it holds no keys: every read opens the file, takes what it needs and wipes the
// rest. Every write by this process makes every cache of this process read its file again.
//
// Safety rules (each refusal is Error(keys_file) naming the file, and the file is never changed):
//  - refused if it is a symbolic link or not a regular file (opened with O_NOFOLLOW|O_NONBLOCK,
//    so a FIFO never blocks), or owned by another user than the one llmrt runs as;
//  - refused if group or others have any permission on it (OpenSSH's rule), with the mode shown;
//  - refused, unread, if it is larger than kMaxKeysFileSize;
//  - refused if its directory is a symbolic link, another user's, or writable by group or others
//    (OpenSSH's StrictModes), with the command that fixes it;
//  - refused if it is not a JSON object whose values are all keys (strings) or well-formed version
//    lists (unique labels, exactly one "current"; a corrupt file is never
//    reset or rewritten: set() and remove() refuse too, so nothing stored is lost);
//  - created with mode 0600 in a directory created 0700; every write is atomic (temp + rename).
//
// Threading and processes: set() and remove() hold an exclusive flock() on "<file>.lock" beside it
// from the read to the rename, so concurrent writers (threads or processes) never lose each
// other's entries; readers take no lock and always see a whole file (the rename is atomic).
// A cached KeysFile may be used from any thread.
class KeysFile {
 public:
  explicit KeysFile(std::filesystem::path path) : path_(std::move(path)) {}
  // Cached as `caching` says. The cache's watch thread (inotify) lives as long as the last copy.
  KeysFile(std::filesystem::path path, const KeysFileCaching& caching);

  const std::filesystem::path& path() const { return path_; }

  // Cached only: makes sure that the next read sees every change the system has reported so far,
  // eg: right after running `llmrt keys set` in another process. With inotify, waits (at most
  // 2 s) for the watch thread to take in the events already queued; with the stat() fallback,
  // makes the next read check at once. Changes made through any KeysFile of this process need
  // no catch_up(). Costs a poll(): for a host that must be sure, not for every call.
  void catch_up() const;

  // Cached only: true while inotify watches the file's directory (false: not cached, or the
  // stat() fallback).
  bool watched_by_inotify() const;

  // The key stored under `name` (its current version), or nullopt when the file or the entry does
  // not exist.
  std::optional<Key> get(std::string_view name) const;

  // Every version stored under `name`, in the file's order, read in one go (so that one call
  // chooses among versions of one moment); empty when the file or the entry does not exist.
  std::vector<StoredKeyVersion> versions(std::string_view name) const;

  // The names of the stored keys, sorted. Empty when the file does not exist.
  std::vector<std::string> names() const;

  // Stores `key` under `name`, replacing any previous one. Validates both first.
  void set(std::string_view name, const Key& key) const;

  // Stores `key` under `name` as the version `label`, replacing that version's key (and weight,
  // when `weight` is given) if it exists. A plain entry is rewritten in the versioned form only
  // here. A new name must get its "current" version first: Error(usage) otherwise.
  void set_version(std::string_view name, std::string_view label, const Key& key,
                   std::optional<std::uint32_t> weight) const;

  // Makes `label` the current version; the old current becomes "previous" (replacing any
  // previous), and both lose their weights (current takes the calls the others leave, previous
  // none). Error(keys_file) if there is no such version.
  void promote(std::string_view name, std::string_view label) const;

  // Sets the weight of version `label`. Error(keys_file) if there is no such version.
  void set_weight(std::string_view name, std::string_view label, std::uint32_t weight) const;

  // Removes version `label`. Error(usage) for "current" while other versions remain (promote
  // another first); removing the only version removes the name. Returns false if it was not there.
  bool remove_version(std::string_view name, std::string_view label) const;

  // Removes `name`. Returns false if it was not there.
  bool remove(std::string_view name) const;

 private:
  // The file's contents now (nullptr: no file), from the cache or read now.
  std::shared_ptr<const KeysDocument> document() const;

  std::filesystem::path path_;
  std::shared_ptr<KeysFileCache> cache_;  // null: not cached
};

// Throws Error(usage) unless `name` is 1..128 characters of [A-Za-z0-9._-].
void validate_key_name(std::string_view name);

// Throws Error(usage) unless `label` is 1..32 of [a-z0-9._-], eg: "current", "pending", "tier2".
void validate_key_version_label(std::string_view label);

// `weight` as a version weight; Error(usage) unless it is from 0 to 1000000.
std::uint32_t checked_key_version_weight(std::int64_t weight);

// The percentage of calls each version takes while all are in rotation (docs/keys.md#weights),
// in the order given. Precondition: one version is labelled "current".
std::vector<double> key_version_shares(const std::vector<StoredKeyVersion>& versions);

}  // namespace llmrt

#endif  // LLMRT_KEYS_FILE_HPP
