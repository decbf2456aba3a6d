#include "session_keys.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/error.hpp>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "safe_file.hpp"

namespace llmrt::serve {
namespace {

constexpr std::string_view kHkdfSalt = "llmrt session keys";
constexpr std::string_view kSessionKeyInfo = "llmrt-sk1";
constexpr std::size_t kKeyIdHexDigits = 16;
constexpr std::size_t kMacChars = 43;  // base64url of 32 bytes, unpadded
constexpr std::size_t kExpiresDigitsMax = 12;
// prefix + tenant + "." + expires + "." + key_id + "." + mac
constexpr std::size_t kSessionKeyMax = kSessionKeyPrefix.size() + kTenantNameMax + 1 +
                                       kExpiresDigitsMax + 1 + kKeyIdHexDigits + 1 + kMacChars;

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

[[noreturn]] void refuse(std::string_view what, const std::filesystem::path& path,
                         const std::string& why) {
  throw Error(ErrorCode::keys_file, std::string(what) + " file " + quoted(path) + " " + why);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

void base64url(const unsigned char* bytes, std::size_t size, char* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  if (size - i == 1) {
    const unsigned v = bytes[i] << 16;
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
  } else if (size - i == 2) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
  }
}

// HMAC-SHA256(key, data) in base64url: exactly kMacChars characters written to `out`.
void mac_text(const SecretBytes& key, std::string_view data, char* out) {
  unsigned char digest[32];
  hmac_sha256(key, data, digest);
  base64url(digest, sizeof digest, out);
  OPENSSL_cleanse(digest, sizeof digest);
}

bool all_of(std::string_view text, bool (*predicate)(char)) {
  for (const char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

bool is_tenant_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool is_base64url_char(char c) {
  return is_tenant_char(c);  // the same alphabet: A-Z a-z 0-9 - _
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw std::system_error(errno, std::generic_category());
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

}  // namespace

SecretBytes::SecretBytes(const unsigned char* bytes, std::size_t size) {
  if (size != kSize) throw Error(ErrorCode::usage, "a secret key must be exactly 32 bytes");
  std::memcpy(bytes_.data(), bytes, kSize);
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), kSize);
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), kSize);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  OPENSSL_cleanse(bytes_.data(), kSize);
}

SecretBytes SecretBytes::random() {
  SecretBytes secret;
  if (RAND_bytes(secret.bytes_.data(), static_cast<int>(kSize)) != 1) {
    throw Error(ErrorCode::io, "OpenSSL's random generator failed");
  }
  return secret;
}

void hmac_sha256(const SecretBytes& key, std::string_view data, unsigned char (&out)[32]) {
  // Fetched once: EVP_MAC objects are immutable and may be shared by threads.
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* context = kHmac ? EVP_MAC_CTX_new(kHmac) : nullptr;
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0), OSSL_PARAM_END};
  std::size_t size = 0;
  const bool ok =
      context != nullptr && EVP_MAC_init(context, key.data(), key.size(), params) == 1 &&
      EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
          1 &&
      EVP_MAC_final(context, out, &size, sizeof out) == 1 && size == sizeof out;
  EVP_MAC_CTX_free(context);  // wipes its copy of the key
  if (!ok) throw Error(ErrorCode::io, "OpenSSL could not compute HMAC-SHA256");
}

SecretBytes derive_subkey(const SecretBytes& secret, std::string_view info) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* context = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<unsigned char*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kHkdfSalt.data()),
                                        kHkdfSalt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_END};
  unsigned char out[SecretBytes::kSize];
  const bool ok = context != nullptr && EVP_KDF_derive(context, out, sizeof out, params) == 1;
  EVP_KDF_CTX_free(context);  // wipes its copy of the key
  EVP_KDF_free(kdf);
  if (!ok) throw Error(ErrorCode::io, "OpenSSL could not derive a key with HKDF-SHA256");
  SecretBytes derived(out, sizeof out);
  OPENSSL_cleanse(out, sizeof out);
  return derived;
}

SecretBytes read_secret_key_file(const std::filesystem::path& path, std::string_view what) {
  // A key, a newline, and room for a "\r": anything larger is not a key file.
  constexpr std::size_t kMaxKeyFileSize = 2 * SecretBytes::kSize + 2;
  std::optional<SafeFile> file = SafeFile::open(
      path, {std::string(what) + " file", ErrorCode::keys_file, true, kMaxKeyFileSize});
  if (!file) refuse(what, path, "cannot be read: it does not exist");
  const SecretString content = file->read();
  char text[kMaxKeyFileSize];
  const std::size_t size = content.size();
  std::memcpy(text, content.data(), size);
  std::size_t digits = size;
  if (digits > 0 && text[digits - 1] == '\n') --digits;
  if (digits > 0 && text[digits - 1] == '\r') --digits;
  unsigned char bytes[SecretBytes::kSize];
  bool ok = digits == 2 * SecretBytes::kSize;
  for (std::size_t i = 0; ok && i < SecretBytes::kSize; ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    ok = high >= 0 && low >= 0;
    bytes[i] = static_cast<unsigned char>(ok ? (high << 4) | low : 0);
  }
  OPENSSL_cleanse(text, sizeof text);
  if (!ok) {
    OPENSSL_cleanse(bytes, sizeof bytes);
    refuse(what, path,
           "does not hold a key: it must be 64 hex digits (32 bytes) and a newline, as written by "
           "`llmrt keys new-master-key`");
  }
  SecretBytes secret(bytes, sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return secret;
}

void create_secret_key_file(const std::filesystem::path& path, std::string_view what) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    refuse(what, path,
           "already exists; llmrt never replaces a key file (to rotate, create a new file and "
           "point the gateway at it)");
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string temp = (dir / ".llmrt-key.XXXXXX").string();
  const int fd = ::mkstemp(temp.data());  // mode 0600
  if (fd < 0) refuse(what, path, std::string("cannot be created: ") + std::strerror(errno));
  char text[2 * SecretBytes::kSize + 1];
  try {
    ::fchmod(fd, 0600);
    const SecretBytes secret = SecretBytes::random();
    for (std::size_t i = 0; i < SecretBytes::kSize; ++i) {
      text[2 * i] = kHexDigits[secret.data()[i] >> 4];
      text[2 * i + 1] = kHexDigits[secret.data()[i] & 0x0F];
    }
    text[sizeof text - 1] = '\n';
    write_all(fd, text, sizeof text);
    OPENSSL_cleanse(text, sizeof text);
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category());
    ::close(fd);
  } catch (const std::system_error& error) {
    OPENSSL_cleanse(text, sizeof text);
    ::close(fd);
    ::unlink(temp.c_str());
    refuse(what, path, "cannot be written: " + error.code().message());
  } catch (...) {
    OPENSSL_cleanse(text, sizeof text);
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  // link() fails if `path` appeared in the meantime: an existing key is never replaced.
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    refuse(what, path,
           saved == EEXIST ? std::string("already exists; llmrt never replaces a key file")
                           : std::string("cannot be created: ") + std::strerror(saved));
  }
  ::unlink(temp.c_str());
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

std::int64_t parse_ttl(std::string_view text) {
  const auto invalid = [&] {
    return Error(ErrorCode::usage, "invalid lifetime '" + std::string(text.substr(0, 32)) +
                                       "': use a number and a unit, s, m, h or d (eg: 30m, 1h, "
                                       "7d), at most 90d");
  };
  if (text.size() < 2 || text.size() > 12) throw invalid();
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (!all_of(digits, is_digit)) throw invalid();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value <= 0) throw invalid();
  std::int64_t scale = 0;
  switch (unit) {
    case 's':
      scale = 1;
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'd':
      scale = 86400;
      break;
    default:
      throw invalid();
  }
  if (value > kMaxSessionTtlSeconds / scale) throw invalid();
  return value * scale;
}

bool is_tenant_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= kTenantNameMax && all_of(name, is_tenant_char);
}

void validate_tenant_name(std::string_view name) {
  if (!is_tenant_name(name)) {
    throw Error(ErrorCode::usage, "invalid tenant name '" + std::string(name.substr(0, 64)) +
                                      "': use 1 to 64 of the characters A-Z a-z 0-9 _ -");
  }
}

std::string_view to_string(SessionKeyStatus status) noexcept {
  switch (status) {
    case SessionKeyStatus::valid:
      return "valid";
    case SessionKeyStatus::malformed:
      return "malformed";
    case SessionKeyStatus::bad_mac:
      return "bad_mac";
    case SessionKeyStatus::expired:
      return "expired";
  }
  return "malformed";
}

SessionKeys::SessionKeys(const SecretBytes& master, const SecretBytes* previous_master)
    : mac_key_(derive_subkey(master, kSessionKeyInfo)) {
  if (previous_master != nullptr) {
    previous_mac_key_ = derive_subkey(*previous_master, kSessionKeyInfo);
    has_previous_ = true;
  }
}

Key SessionKeys::issue(std::string_view tenant, std::int64_t ttl_seconds,
                       std::int64_t now_unix) const {
  validate_tenant_name(tenant);
  if (ttl_seconds <= 0 || ttl_seconds > kMaxSessionTtlSeconds) {
    throw Error(ErrorCode::usage, "a session key's lifetime must be between 1 second and 90 days");
  }
  // The expiry is written as at most kExpiresDigitsMax digits: checked before any arithmetic that
  // could overflow, and before anything is written into the fixed-size buffer below.
  constexpr std::int64_t kLatestExpiry = 999'999'999'999;  // 12 digits: year 33658
  if (now_unix < 0 || now_unix > kLatestExpiry - ttl_seconds) {
    throw Error(ErrorCode::usage, "cannot issue a session key at clock time " +
                                      std::to_string(now_unix) +
                                      ": its expiry must fall between 1970 and " +
                                      std::to_string(kLatestExpiry) + " (Unix seconds)");
  }
  unsigned char id_bytes[kKeyIdHexDigits / 2];
  if (RAND_bytes(id_bytes, sizeof id_bytes) != 1) {
    throw Error(ErrorCode::io, "OpenSSL's random generator failed");
  }
  char text[kSessionKeyMax + 1];
  std::size_t size = 0;
  const auto append = [&](std::string_view part) {
    std::memcpy(text + size, part.data(), part.size());
    size += part.size();
  };
  append(kSessionKeyPrefix);
  append(tenant);
  append(".");
  append(std::to_string(now_unix + ttl_seconds));
  append(".");
  for (const unsigned char byte : id_bytes) {
    text[size++] = kHexDigits[byte >> 4];
    text[size++] = kHexDigits[byte & 0x0F];
  }
  const std::string_view signed_part(text, size);
  char mac[kMacChars];
  mac_text(mac_key_, signed_part, mac);
  text[size++] = '.';
  std::memcpy(text + size, mac, kMacChars);
  size += kMacChars;
  Key key(std::string_view(text, size));
  OPENSSL_cleanse(text, sizeof text);
  OPENSSL_cleanse(mac, sizeof mac);
  return key;
}

SessionKeyCheck SessionKeys::verify(std::string_view token, std::int64_t now_unix) const {
  SessionKeyCheck check;
  if (!looks_like_session_key(token) || token.size() > kSessionKeyMax) return check;
  std::string_view fields[4];
  std::string_view rest = token.substr(kSessionKeyPrefix.size());
  for (int i = 0; i < 3; ++i) {
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return check;
    fields[i] = rest.substr(0, dot);
    rest.remove_prefix(dot + 1);
  }
  fields[3] = rest;  // a fifth field would leave a '.' here, which the MAC alphabet lacks
  const std::string_view tenant = fields[0];
  const std::string_view expires = fields[1];
  const std::string_view key_id = fields[2];
  const std::string_view mac = fields[3];
  if (!is_tenant_name(tenant)) return check;
  if (expires.empty() || expires.size() > kExpiresDigitsMax || !all_of(expires, is_digit) ||
      expires.front() == '0') {
    return check;
  }
  if (key_id.size() != kKeyIdHexDigits || !all_of(key_id, is_lower_hex)) return check;
  if (mac.size() != kMacChars || !all_of(mac, is_base64url_char)) return check;

  const std::string_view signed_part = token.substr(0, token.size() - kMacChars - 1);
  char expected[kMacChars];
  mac_text(mac_key_, signed_part, expected);
  bool matches = CRYPTO_memcmp(expected, mac.data(), kMacChars) == 0;
  if (has_previous_) {
    mac_text(previous_mac_key_, signed_part, expected);
    matches = (CRYPTO_memcmp(expected, mac.data(), kMacChars) == 0) || matches;
  }
  OPENSSL_cleanse(expected, sizeof expected);
  if (!matches) {
    check.status = SessionKeyStatus::bad_mac;
    return check;
  }
  std::int64_t expires_unix = 0;
  std::from_chars(expires.data(), expires.data() + expires.size(), expires_unix);
  check.claims = {std::string(tenant), expires_unix, std::string(key_id)};
  check.status = now_unix >= expires_unix ? SessionKeyStatus::expired : SessionKeyStatus::valid;
  return check;
}

}  // namespace llmrt::serve
