// The v1 contract is frozen: plugins compiled against it must keep loading in every later host.
// These tests pin the exact bytes of the frozen header and of the v1 plugin kept to prove it.
// If one fails, the change to that file is the bug: revert it, and put new features into
// <llmrt/plugin.h> under a new version instead.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

const std::filesystem::path kSourceDir = LLMRT_SOURCE_DIR;

// This file is frozen; changing it breaks released plugins.
constexpr const char* kPluginV1HeaderSha256 =
    "892ef2f2021e5fed676481eebf99665e1b47d363979a71f7729eb97aa3f80852";

// Frozen too: the 2.1 contract, for plugins built before conversations (ABI 2.2) existed.
constexpr const char* kPluginV21HeaderSha256 =
    "aa141711c635277c938fa262e46f170f772396b33c96f28f3397b9b798b69d98";

// This plugin is never edited: it is the v1 binary that every host must keep loading.
constexpr const char* kLegacyEchoSourceSha256 =
    "d4f390b48aab03684b7ce540789eb1252294e2e54453e33e535971de4d6613c5";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string sha256_hex(const std::string& bytes) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                        &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

TEST(FrozenAbi, Sha256HelperMatchesAKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FrozenAbi, PluginV1HeaderIsByteForByteUnchanged) {
  const auto path = kSourceDir / "plugin_api/include/llmrt/abi/plugin_v1.h";
  EXPECT_EQ(sha256_hex(read_file(path)), kPluginV1HeaderSha256)
      << path << " is frozen: changing it breaks released v1 plugins. Revert the change and put "
      << "new features into <llmrt/plugin.h> under a new ABI version.";
}

TEST(FrozenAbi, PluginV21HeaderIsByteForByteUnchanged) {
  const auto path = kSourceDir / "plugin_api/include/llmrt/abi/plugin_v2_1.h";
  EXPECT_EQ(sha256_hex(read_file(path)), kPluginV21HeaderSha256)
      << path << " is frozen: changing it breaks released 2.1 plugins. Revert the change and put "
      << "new features into <llmrt/plugin.h> under a new ABI version.";
}

TEST(FrozenAbi, LegacyEchoSourceIsByteForByteUnchanged) {
  const auto path = kSourceDir / "plugins/legacy-echo/legacy_echo.c";
  EXPECT_EQ(sha256_hex(read_file(path)), kLegacyEchoSourceSha256)
      << path << " is never edited: it stands for a v1 plugin built before keys existed.";
}

}  // namespace
