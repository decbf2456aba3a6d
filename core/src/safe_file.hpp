// The one way llmrt opens a file it trusts (keys file, credentials.json, master and audit key
// files, tenants file, deny list, audit log): never through a symbolic link, never blocking on a
// FIFO or a device, only a regular file owned by the user llmrt runs as, with the mode rules of
// that kind of file and a size limit. Refusals read like OpenSSH's StrictModes messages and say
// how to fix the file; they never show its contents.
//
// Threading: every function here is safe to call from any thread (no shared state).
// Errors: llmrt::Error with the code the rules name; the message names the file and the fix.
#ifndef LLMRT_SAFE_FILE_HPP
#define LLMRT_SAFE_FILE_HPP

#include <sys/stat.h>
#include <llmrt/error.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cleansing_memory.hpp"

namespace llmrt {

// What a file must be to be trusted.
struct FileRules {
  std::string what;                // names the file in messages, eg: "keys file"
  ErrorCode code = ErrorCode::io;  // the code of every refusal
  bool private_mode = true;        // true: no group/other bit at all (0600); false: no g/o write
  std::size_t max_size = 1 << 20;  // the most read; a larger file is refused unread
};

// A file that passed its rules, open read-only. Owns the descriptor; not copyable.
class SafeFile {
 public:
  // Opens `path` with O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC (so a symbolic link is
  // refused and a FIFO never blocks), then checks what fstat says: a regular file, owned by
  // geteuid(), mode as `rules` say, at most `rules.max_size` bytes. nullopt when it does not exist;
  // Error(rules.code) for everything else.
  static std::optional<SafeFile> open(const std::filesystem::path& path, const FileRules& rules);

  SafeFile(SafeFile&& other) noexcept;
  SafeFile& operator=(SafeFile&&) = delete;
  SafeFile(const SafeFile&) = delete;
  ~SafeFile();

  // The whole file, in wiped memory. Error(rules.code) if it cannot be read or has grown past the
  // size limit since it was opened.
  SecretString read() const;
  const struct stat& status() const { return status_; }
  int descriptor() const { return fd_; }

 private:
  SafeFile(std::filesystem::path path, FileRules rules, int fd, const struct stat& status);
  std::filesystem::path path_;
  FileRules rules_;
  int fd_ = -1;
  struct stat status_ {};
};

// Checks an already open file's fstat result against `rules` (regular file, owner, mode, size).
// For files llmrt opens itself in another way (the audit log, opened for appending).
void check_file(const std::filesystem::path& path, const struct stat& status,
                const FileRules& rules);

// Checks a directory llmrt keeps secrets in (the user directory): not a symbolic link, a
// directory, owned by geteuid(), not writable by group or others. Does nothing when it does not
// exist. Error(code) otherwise, saying how to fix it.
void check_private_directory(const std::filesystem::path& dir, std::string_view what,
                             ErrorCode code);

// Creates `dir` and each missing parent with mode 0700 (as the XDG base directory spec asks for
// the directories it creates); an existing directory is left as it is. Error(code) naming the
// directory that could not be made.
void make_private_directories(const std::filesystem::path& dir, ErrorCode code);

// "'PATH'" for messages.
std::string quoted_path(const std::filesystem::path& path);

}  // namespace llmrt

#endif  // LLMRT_SAFE_FILE_HPP
