// keys.json as a user's editor, a crash or another program may leave it: read by the runtime's
// KeysFile (the same checks and parsing as every key lookup), every name listed, looked up, its
// versions read and one chosen. Only llmrt::Error (keys_file) may come out.
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_files.hpp"
#include "key_versions/version_choice.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt;
  using namespace llmrt::key_versions;
  const std::filesystem::path& path = fuzz::private_file("keys.json");
  fuzz::write_private_file(path, data, size);
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
