// credentials_check: model "cred-check" for the credential-provider tests. It refuses every key
// that starts with "sk-reject" with LLMRT_KEY_REJECTED (and, like some providers do, repeats the
// key in its error message, which the host must scrub). For any other key it writes three chunks:
//   "key-sha256: <12 hex>\n"                       the key, read at the start of the call
//   "token-sha256: <12 hex or none> expires-at: N\n"
//   "key-sha256: <12 hex>\n"                       the key, read again at the end of the call
// so that a test can check that a call saw one key from start to end.
// The prompt "leak N" makes it fail the way a careless plugin would: an error message of N bytes of
// padding, then the key, then the session token (the host must scrub both, wherever they fall).
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

struct CredCheck {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "cred-check",
      .display_name = "Credential check (test)",
      .key_name = "cred-check",
      .key_env_var = "LLMRT_CRED_CHECK_KEY",
      .requires_key = true,
      .streaming = true,
      .reentrant = true,
  };

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out,
               const llmrt::sdk::Key& key) {
    if (prompt.text.starts_with("leak ")) {
      const std::size_t padding = std::stoul(std::string(prompt.text.substr(5)));
      throw llmrt::sdk::Error(LLMRT_FAILED, std::string(padding, '.') + std::string(key.value()) +
                                                " token " + std::string(key.session_token()));
    }
    if (key.value().starts_with("sk-reject")) {
      throw llmrt::sdk::Error(LLMRT_KEY_REJECTED,
                              "invalid api key: " + std::string(key.value()) + " was revoked");
    }
    if (!out.write("key-sha256: " + sha256_prefix(key.value()) + "\n")) return;
    const std::string token =
        key.session_token().empty() ? "none" : sha256_prefix(key.session_token());
    if (!out.write("token-sha256: " + token + " expires-at: " + std::to_string(key.expires_at()) +
                   "\n")) {
      return;
    }
    out.write("key-sha256: " + sha256_prefix(key.value()) + "\n");
  }
};

}  // namespace

LLMRT_PLUGIN("credentials-check", "1.0.0", CredCheck)
