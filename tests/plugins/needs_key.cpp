// needs_key: model "needs-key" offers ONLY the keyed execute and sets requires_key. It answers
// exactly "key-sha256: " followed by the first 12 hex digits of SHA-256 of the key it received, so
// a test can tell which key arrived without the key ever being printed.
#include <openssl/evp.h>
#include <llmrt/sdk.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

std::string sha256_prefix(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw llmrt::sdk::Error("SHA-256 failed");
  }
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 12);
}

struct NeedsKey {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "needs-key",
      .display_name = "Needs a key (test)",
      .key_name = "needs-key",
      .key_env_var = "LLMRT_NEEDS_KEY",
      .requires_key = true,
      .reentrant = true,
  };

  void execute(const llmrt::sdk::Prompt&, llmrt::sdk::Output& out, const llmrt::sdk::Key& key) {
    out.write("key-sha256: " + sha256_prefix(key.value()));
  }
};

}  // namespace

LLMRT_PLUGIN("needs-key", "1.0.0", NeedsKey)
