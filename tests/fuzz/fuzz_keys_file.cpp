// keys.json as a user's editor, a crash or another program may leave it: read by the runtime's
// KeysFile (the same checks and parsing as every key lookup), every name listed, looked up, its
// versions read and one chosen. Only llmrt::Error (keys_file) may come out.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_check.hpp"
#include "key_versions/version_choice.hpp"

namespace {

// One private directory per process, as the keys file's checks demand (0700, the file 0600),
// removed at exit. The path is never destroyed: the exit handler still reads it.
const std::filesystem::path& keys_path() {
  static const std::filesystem::path* const path = [] {
    char pattern[] = "/tmp/llmrt-fuzz-keys-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    if (dir == nullptr) std::abort();
    const auto* made = new std::filesystem::path(std::filesystem::path(dir) / "keys.json");
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(keys_path().parent_path(), ignored);
    });
    return made;
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt;
  using namespace llmrt::key_versions;
  const std::filesystem::path& path = keys_path();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (std::size_t written = 0; written < size;) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) std::abort();
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  const KeysFile file(path, KeysFileCaching{.enabled = false});
  try {
    VersionDraw draw(std::uint64_t{42});
    for (const std::string& name : file.names()) {
      (void)file.get(name);
      (void)file.versions(name);
      (void)choose_stored_key(file, name, VersionRequest{}, draw);
    }
    (void)file.get("openai");
  } catch (const Error& error) {
    LLMRT_FUZZ_CHECK(error.code() == ErrorCode::keys_file || error.code() == ErrorCode::key_invalid,
                     "a bad keys file is a keys_file error");
  }
  return 0;
}
