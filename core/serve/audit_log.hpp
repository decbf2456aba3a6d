// The gateway's audit log: one JSON object per line per chat request, appended (docs/audit.md).
//
//   {"time":"2026-03-01T12:00:00.123Z","request_id":"req_...","tenant":"acme","model":"echo",
//    "key_source":"stored-name","key_fingerprint":"hmac:1f2e3d4c5b6a7988","key_id":"...",
//    "status":200,"outcome":"ok","stream":false}
//
// A key never appears in it: only a keyed fingerprint (HMAC-SHA256 under an audit key), which
// cannot be recomputed (or checked against a guessed key) without that audit key.
#ifndef LLMRT_SERVE_AUDIT_LOG_HPP
#define LLMRT_SERVE_AUDIT_LOG_HPP

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "session_keys.hpp"

namespace llmrt::serve {

// Keyed fingerprints of secrets: "hmac:" and the first 16 hex digits of HMAC-SHA256(audit key,
// secret). The same secret always gives the same fingerprint under the same audit key. Thread-safe.
class KeyFingerprinter {
 public:
  explicit KeyFingerprinter(SecretBytes audit_key) : key_(std::move(audit_key)) {}
  std::string fingerprint(std::string_view secret) const;

 private:
  SecretBytes key_;
};

struct AuditEvent {
  std::string time;  // RFC 3339 UTC with milliseconds; AuditLog::write fills it when empty
  std::string request_id;
  std::optional<std::string> tenant;           // null: not a session-key request
  std::string model;                           // "" when the request named none
  std::optional<std::string> key_source;       // eg: "per-call", "stored-name"; null: unknown
  std::optional<std::string> key_fingerprint;  // of the client's bearer token; null: none sent
  std::optional<std::string> key_id;           // a session key's key_id
  int status = 0;                              // the HTTP status
  std::string outcome;                         // "ok" or an error code, eg: "session_key_expired"
  bool stream = false;
};

// One line of JSON for `event`, with its "\n".
std::string audit_line(const AuditEvent& event);

// Parses one line of an audit log. nullopt (and `why`) when it is not a complete, well-formed
// event: a JSON object with every field above of the right type.
std::optional<AuditEvent> parse_audit_line(std::string_view line, std::string& why);

// `time` as RFC 3339 UTC with milliseconds, eg: "2026-03-01T12:00:00.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point time);

// A fresh request id: "req_" and 24 random hex digits.
std::string make_request_id();

class AuditLog {
 public:
  // Opens (or creates, mode 0600) `path` for appending (O_APPEND, O_NONBLOCK so that a FIFO never
  // hangs the start). Refused with Error(io) if it is a symbolic link or not a regular file, owned
  // by another user, or if group or others may write to it (anyone who can write to an audit log
  // can forge it). Write failures are reported on `warnings` (not owned).
  explicit AuditLog(const std::filesystem::path& path, std::FILE* warnings = stderr);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one event: the whole line in one write() under a mutex, so lines never interleave,
  // even across threads. A line is written whole or not at all: after a short write and an error
  // (a full disk) the partial line is truncated away. A run of failures is reported once on
  // `warnings`, and its end too, so that the next failure is reported again; requests are still
  // served.
  void write(AuditEvent event);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* warnings_;
  int fd_ = -1;
  std::mutex mutex_;
  bool failure_reported_ = false;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_AUDIT_LOG_HPP
