// For fuzz targets whose input is a file that llmrt checks before it reads it (keys.json, the
// plugin cache): one private directory per process (0700, the file written 0600), removed at exit.
// Single-threaded, as fuzz targets are.
#ifndef LLMRT_TESTS_FUZZ_FILES_HPP
#define LLMRT_TESTS_FUZZ_FILES_HPP

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace llmrt::fuzz {

// The path, made on first use, is never destroyed: the exit handler still reads it.
inline const std::filesystem::path*& private_file_slot() {
  static const std::filesystem::path* path = nullptr;
  return path;
}

// `name` in the process's private directory.
inline const std::filesystem::path& private_file(const char* name) {
  const std::filesystem::path*& path = private_file_slot();
  if (path == nullptr) {
    char pattern[] = "/tmp/llmrt-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    if (dir == nullptr) std::abort();
    path = new std::filesystem::path(std::filesystem::path(dir) / name);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(private_file_slot()->parent_path(), ignored);
    });
  }
  return *path;
}

// Replaces the file at `path` with `data`, mode 0600.
inline void write_private_file(const std::filesystem::path& path, const std::uint8_t* data,
                               std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (std::size_t written = 0; written < size;) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) std::abort();
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace llmrt::fuzz

#endif  // LLMRT_TESTS_FUZZ_FILES_HPP
