// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but still shipped by every 3.x, and unlike
// EVP they need no provider set up: the first EVP digest of a process loads openssl.cnf and the
// default provider, ~0.5-1 ms, a sixth of a whole `llmrt prompt`. OpenSSL 4 builds use EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <llmrt/error.hpp>
#include <llmrt/key.hpp>

#include <cstdio>
#include <cstring>
#include <string>

namespace llmrt {

std::string_view to_string(KeySource source) noexcept {
  switch (source) {
    case KeySource::none:
      return "none";
    case KeySource::per_call:
      return "per-call";
    case KeySource::stored_name:
      return "stored-name";
    case KeySource::instance:
      return "instance";
    case KeySource::environment:
      return "environment";
    case KeySource::keys_file:
      return "keys-file";
    case KeySource::environment_file:
      return "environment-file";
    case KeySource::command:
      return "command";
  }
  return "unknown";
}

Key::Key(std::string_view value) {
  if (value.empty()) return;
  data_ = std::make_unique<char[]>(value.size());
  std::memcpy(data_.get(), value.data(), value.size());
  size_ = value.size();
}

Key::Key(Key&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

Key& Key::operator=(Key&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

Key::~Key() {
  wipe();
}

void Key::wipe() noexcept {
  if (data_) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

std::string Key::fingerprint() const {
  return "sha256:" + sha256_prefix(reveal());
}

std::string sha256_prefix(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
#if OPENSSL_VERSION_MAJOR < 4
  SHA256_CTX context;
  const bool digested = SHA256_Init(&context) == 1 &&
                        SHA256_Update(&context, bytes.data(), bytes.size()) == 1 &&
                        SHA256_Final(digest, &context) == 1;
  OPENSSL_cleanse(&context, sizeof context);  // it held the key's bytes
  if (!digested) return "unavailable";
#else
  unsigned int length = 0;
  // Fetched once: OpenSSL 3 otherwise looks the algorithm up again on every digest (~150 ns).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (sha256 == nullptr ||
      EVP_Digest(bytes.data(), bytes.size(), digest, &length, sha256, nullptr) != 1) {
    return "unavailable";
  }
#endif
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 6; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0F];
  }
  return hex;
}

bool is_valid_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > kMaxKeySize) return false;
  for (const char c : key) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

void validate_key(std::string_view key, std::string_view what) {
  // Runs on every call that sends a key: the message is only built for a key that fails.
  if (is_valid_key(key)) return;
  const std::string from(what);
  if (key.empty()) throw Error(ErrorCode::key_invalid, from + " is empty");
  if (key.size() > kMaxKeySize) {
    throw Error(ErrorCode::key_invalid, from + " is too long (" + std::to_string(key.size()) +
                                            " bytes; at most " + std::to_string(kMaxKeySize) + ")");
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x21 || c > 0x7E) {
      const char* what = c == ' '                  ? "a space"
                         : (c < 0x20 || c == 0x7F) ? "a control character"
                                                   : "a non-ASCII byte";
      throw Error(ErrorCode::key_invalid, from + " contains " + what + " at byte " +
                                              std::to_string(i + 1) +
                                              " (a key is printable ASCII without spaces)");
    }
  }
}

bool looks_like_a_key(std::string_view text) noexcept {
  bool upper = false;
  bool lower = false;
  bool digit = false;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return false;
    upper = upper || (c >= 'A' && c <= 'Z');
    lower = lower || (c >= 'a' && c <= 'z');
    digit = digit || (c >= '0' && c <= '9');
  }
  if (text.size() >= 20 && upper && lower && digit) return true;
  return text.size() >= 32 && (upper || lower) && digit;
}

std::string quoted_key_name(std::string_view name) {
  if (!looks_like_a_key(name)) return "'" + std::string(name) + "'";
  return "[a name of " + std::to_string(name.size()) +
         " characters that looks like a key, not shown]";
}

}  // namespace llmrt
