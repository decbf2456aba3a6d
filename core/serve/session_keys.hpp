// Derived session keys: stateless bearer tokens for one tenant, issued and verified with an
// operator's master key (docs/serve.md#session-keys).
//
//   llmrt-sk1.<tenant>.<expires_unix>.<key_id>.<mac>
//
// tenant [A-Za-z0-9_-]{1,64}; expires_unix: decimal seconds; key_id: 16 lowercase hex digits
// (random); mac: base64url (no padding) of HMAC-SHA256(K, everything before the last dot), where
// K = HKDF-SHA256(master key, salt "llmrt session keys", info "llmrt-sk1").
//
// Verification needs only the master key: any number of gateway replicas holding the same master
// key accept the same session keys without sharing any state.
#ifndef LLMRT_SERVE_SESSION_KEYS_HPP
#define LLMRT_SERVE_SESSION_KEYS_HPP

#include <llmrt/key.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmrt::serve {

inline constexpr std::string_view kSessionKeyPrefix = "llmrt-sk1.";
inline constexpr std::size_t kTenantNameMax = 64;
inline constexpr std::int64_t kMaxSessionTtlSeconds = 90LL * 24 * 3600;  // 90d

// 32 secret bytes (a master key, or a key derived from one). Wiped when destroyed or moved from.
class SecretBytes {
 public:
  static constexpr std::size_t kSize = 32;

  SecretBytes() noexcept = default;
  SecretBytes(const unsigned char* bytes, std::size_t size);  // exactly kSize bytes
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // kSize fresh bytes from OpenSSL's CSPRNG. Throws Error(io) if it fails.
  static SecretBytes random();

  const unsigned char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return kSize; }

 private:
  std::array<unsigned char, kSize> bytes_{};
};

// HMAC-SHA256(key, data) into `out` (32 bytes). Throws Error(io) if OpenSSL fails.
void hmac_sha256(const SecretBytes& key, std::string_view data, unsigned char (&out)[32]);

// HKDF-SHA256(secret, salt "llmrt session keys", info) -> 32 bytes. info "llmrt-sk1" gives the
// session-key MAC key, "llmrt audit" the audit-fingerprint key.
SecretBytes derive_subkey(const SecretBytes& secret, std::string_view info);

// Reads a secret key file (a master key or an audit key): 64 hex digits and an optional newline.
// Refused, like the keys file (Error(keys_file)), if it is a symbolic link, not a regular file,
// or if group or others have any permission on it. `what` names it in messages, eg: "master key".
SecretBytes read_secret_key_file(const std::filesystem::path& path, std::string_view what);

// Creates `path` holding 32 fresh random bytes in hex, mode 0600, atomically (a private temporary
// file linked into place). Never replaces an existing file: Error(keys_file) if `path` exists.
void create_secret_key_file(const std::filesystem::path& path, std::string_view what);

// A lifetime such as "90s", "30m", "1h", "7d": a positive decimal number and one unit (s, m, h, d),
// at most kMaxSessionTtlSeconds. Throws Error(usage) otherwise.
std::int64_t parse_ttl(std::string_view text);

// [A-Za-z0-9_-]{1,64}.
bool is_tenant_name(std::string_view name) noexcept;
// Throws Error(usage) unless is_tenant_name(name).
void validate_tenant_name(std::string_view name);

// What a well-formed session key says about itself (none of it is secret).
struct SessionKeyClaims {
  std::string tenant;
  std::int64_t expires = 0;  // unix seconds
  std::string key_id;        // 16 lowercase hex digits
};

enum class SessionKeyStatus {
  valid,
  malformed,  // not of the session-key shape (wrong prefix, field count or syntax, truncated)
  bad_mac,    // well-formed, but not made with this master key (forged, altered, other tenant)
  expired,    // made with this master key, but its time is up
};

// "valid", "malformed", "bad_mac", "expired".
std::string_view to_string(SessionKeyStatus status) noexcept;

struct SessionKeyCheck {
  SessionKeyStatus status = SessionKeyStatus::malformed;
  SessionKeyClaims claims;  // filled for valid and expired keys only
};

// Issues and verifies session keys with one master key (and optionally a previous one, still
// accepted for verification only, for a rotation overlap window).
//
// Threading: const members may be called from any number of threads at once.
class SessionKeys {
 public:
  explicit SessionKeys(const SecretBytes& master, const SecretBytes* previous_master = nullptr);

  // A new session key for `tenant`, valid until now_unix + ttl_seconds, with a random key_id.
  // Throws Error(usage) for an invalid tenant name or a ttl outside 1..kMaxSessionTtlSeconds.
  Key issue(std::string_view tenant, std::int64_t ttl_seconds, std::int64_t now_unix) const;

  // Parses `token` strictly, recomputes its MAC (compared in constant time) and checks its expiry
  // against `now_unix`. The MAC is checked before the expiry: a forged key is never "expired".
  SessionKeyCheck verify(std::string_view token, std::int64_t now_unix) const;

 private:
  SecretBytes mac_key_;
  SecretBytes previous_mac_key_;
  bool has_previous_ = false;
};

// Whether `token` claims to be a session key (starts with "llmrt-sk1.").
inline bool looks_like_session_key(std::string_view token) noexcept {
  return token.starts_with(kSessionKeyPrefix);
}

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_SESSION_KEYS_HPP
