#include "safe_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace llmrt {
namespace {

std::string mode_string(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

[[noreturn]] void refuse(const FileRules& rules, const std::filesystem::path& path,
                         const std::string& why) {
  throw Error(rules.code, rules.what + " " + quoted_path(path) + " " + why);
}

}  // namespace

std::string quoted_path(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

void check_file(const std::filesystem::path& path, const struct stat& status,
                const FileRules& rules) {
  if (!S_ISREG(status.st_mode)) {
    refuse(
        rules, path,
        "is " + kind_of(status.st_mode) + ", not a regular file; llmrt reads only regular files");
  }
  if (status.st_uid != ::geteuid()) {
    refuse(rules, path,
           "is owned by uid " + std::to_string(status.st_uid) + ", not by uid " +
               std::to_string(::geteuid()) +
               " that llmrt runs as, so anyone with that account could change it; if it is "
               "yours, run: chown " +
               std::to_string(::geteuid()) + " " + quoted_path(path));
  }
  const mode_t forbidden = rules.private_mode ? 077 : 022;
  if ((status.st_mode & forbidden) != 0) {
    throw Error(rules.code, "permissions " + mode_string(status.st_mode) + " for " +
                                quoted_path(path) + " are too open: a " + rules.what +
                                " must not be " + (rules.private_mode ? "accessible" : "writable") +
                                " by group or others; run: chmod " +
                                (rules.private_mode ? "600" : "go-w") + " " + quoted_path(path));
  }
  if (static_cast<std::size_t>(status.st_size) > rules.max_size) {
    refuse(rules, path,
           "is " + std::to_string(status.st_size) + " bytes, larger than the limit of " +
               std::to_string(rules.max_size) + " bytes; it was not read");
  }
}

std::optional<SafeFile> SafeFile::open(const std::filesystem::path& path, const FileRules& rules) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    const int saved = errno;
    if (saved == ENOENT) return std::nullopt;
    if (saved == ELOOP) {
      refuse(rules, path,
             "is a symbolic link, which llmrt does not follow; put the file itself there");
    }
    refuse(rules, path, std::string("cannot be opened: ") + std::strerror(saved));
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const int saved = errno;
    ::close(fd);
    refuse(rules, path, std::string("cannot be examined: ") + std::strerror(saved));
  }
  try {
    check_file(path, status, rules);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return SafeFile(path, rules, fd, status);
}

SafeFile::SafeFile(std::filesystem::path path, FileRules rules, int fd, const struct stat& status)
    : path_(std::move(path)), rules_(std::move(rules)), fd_(fd), status_(status) {}

SafeFile::SafeFile(SafeFile&& other) noexcept
    : path_(std::move(other.path_)),
      rules_(std::move(other.rules_)),
      fd_(other.fd_),
      status_(other.status_) {
  other.fd_ = -1;
}

SafeFile::~SafeFile() {
  if (fd_ >= 0) ::close(fd_);
}

SecretString SafeFile::read() const {
  SecretString text = make_secret_string(static_cast<std::size_t>(status_.st_size) + 1);
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::read(fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int saved = errno;
      cleanse(chunk, sizeof chunk);
      refuse(rules_, path_, std::string("cannot be read: ") + std::strerror(saved));
    }
    if (got == 0) break;
    if (text.size() + static_cast<std::size_t>(got) > rules_.max_size) {
      cleanse(chunk, sizeof chunk);
      refuse(rules_, path_,
             "grew past the limit of " + std::to_string(rules_.max_size) +
                 " bytes while it was read; it was not used");
    }
    text.append(chunk, static_cast<std::size_t>(got));
  }
  cleanse(chunk, sizeof chunk);
  return text;
}

void check_private_directory(const std::filesystem::path& dir, std::string_view what,
                             ErrorCode code) {
  struct stat status {};
  if (::lstat(dir.c_str(), &status) != 0) return;  // created later, mode 0700
  const std::string name = std::string(what) + " " + quoted_path(dir);
  if (S_ISLNK(status.st_mode)) {
    throw Error(code, name +
                          " is a symbolic link, which llmrt does not follow for a directory that "
                          "holds secrets; point LLMRT_USER_PATH at the real directory");
  }
  if (!S_ISDIR(status.st_mode)) throw Error(code, name + " is not a directory");
  if (status.st_uid != ::geteuid()) {
    throw Error(code, name + " is owned by uid " + std::to_string(status.st_uid) + ", not by uid " +
                          std::to_string(::geteuid()) +
                          " that llmrt runs as; if it is yours, run: chown " +
                          std::to_string(::geteuid()) + " " + quoted_path(dir));
  }
  if ((status.st_mode & 022) != 0) {
    throw Error(code, "bad permissions " + mode_string(status.st_mode) + " for " + name +
                          ": anyone in its group or everyone may replace the files in it; run: "
                          "chmod 700 " +
                          quoted_path(dir));
  }
}

void make_private_directories(const std::filesystem::path& dir, ErrorCode code) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw Error(code, "cannot create " + quoted_path(partial) + ": " + std::strerror(errno));
    }
  }
}

}  // namespace llmrt
