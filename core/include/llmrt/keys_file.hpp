// The stored keys file, keys.json in the user directory: {"openai": "sk-...", ...}.
#ifndef LLMRT_KEYS_FILE_HPP
#define LLMRT_KEYS_FILE_HPP

#include <llmrt/key.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

// The largest keys file llmrt reads (1 MiB: thousands of keys of the longest kind).
inline constexpr std::size_t kMaxKeysFileSize = 1024 * 1024;

// Reads and writes one keys file. Holds no keys itself: every read opens the file, takes what it
// needs, and wipes the rest (the file contents and the parsed JSON live in wiped memory).
//
// Safety rules (each refusal is Error(keys_file) naming the file, and the file is never changed):
//  - refused if it is a symbolic link or not a regular file (opened with O_NOFOLLOW|O_NONBLOCK,
//    so a FIFO never blocks), or owned by another user than the one llmrt runs as;
//  - refused if group or others have any permission on it (OpenSSH's rule), with the mode shown;
//  - refused, unread, if it is larger than kMaxKeysFileSize;
//  - refused if its directory is a symbolic link, another user's, or writable by group or others
//    (OpenSSH's StrictModes), with the command that fixes it;
//  - refused if it is not a JSON object whose values are all strings (a corrupt file is never
//    reset or rewritten: set() and remove() refuse too, so nothing stored is lost);
//  - created with mode 0600 in a directory created 0700; every write is atomic (temp + rename).
//
// Threading and processes: set() and remove() hold an exclusive flock() on "<file>.lock" beside it
// from the read to the rename, so concurrent writers (threads or processes) never lose each
// other's entries; readers take no lock and always see a whole file (the rename is atomic).
class KeysFile {
 public:
  explicit KeysFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }

  // The key stored under `name`, or nullopt when the file or the entry does not exist.
  std::optional<Key> get(std::string_view name) const;

  // The names of the stored keys, sorted. Empty when the file does not exist.
  std::vector<std::string> names() const;

  // Stores `key` under `name`, replacing any previous one. Validates both first.
  void set(std::string_view name, const Key& key) const;

  // Removes `name`. Returns false if it was not there.
  bool remove(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

// Throws Error(usage) unless `name` is 1..128 characters of [A-Za-z0-9._-].
void validate_key_name(std::string_view name);

}  // namespace llmrt

#endif  // LLMRT_KEYS_FILE_HPP
