#include "audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/error.hpp>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <limits>

#include "safe_file.hpp"

#include "random_ids.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const unsigned char* bytes, std::size_t size) {
  std::string text;
  text.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 0x0F];
  }
  return text;
}

json::value optional_string(const std::optional<std::string>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

// A string member, or (when `nullable`) null. Sets `why` when it is neither.
bool read_string(const json::object& object, std::string_view name, bool nullable,
                 std::optional<std::string>& out, std::string& why) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) {
    why = "no \"" + std::string(name) + "\"";
    return false;
  }
  if (value->is_string()) {
    out = std::string(value->as_string());
    return true;
  }
  if (nullable && value->is_null()) {
    out.reset();
    return true;
  }
  why = "\"" + std::string(name) + "\" is not a string" + (nullable ? " or null" : "");
  return false;
}

bool looks_like_rfc3339_utc(std::string_view time) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (time.size() < 20 || time.back() != 'Z') return false;
  for (std::size_t i = 0; i < 19; ++i) {
    const char c = time[i];
    const bool ok = (i == 4 || i == 7)     ? c == '-'
                    : i == 10              ? c == 'T'
                    : (i == 13 || i == 16) ? c == ':'
                                           : (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

json::value optional_count(const std::optional<std::int64_t>& count) {
  return count ? json::value(*count) : json::value(nullptr);
}

// An optional token count: absent or null (nullopt), or a whole number >= 0.
bool read_count(const json::object& object, std::string_view name, std::optional<std::int64_t>& out,
                std::string& why) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr || value->is_null()) return true;
  if (value->is_int64() && value->as_int64() >= 0) {
    out = value->as_int64();
    return true;
  }
  if (value->is_uint64() &&
      value->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(value->as_uint64());
    return true;
  }
  why = "\"" + std::string(name) + "\" is not a token count";
  return false;
}

}  // namespace

std::string KeyFingerprinter::fingerprint(std::string_view secret) const {
  unsigned char digest[32];
  hmac_sha256(key_, secret, digest);
  return "hmac:" + hex(digest, 8);
}

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t whole = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[40];
  const std::size_t size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + size, sizeof text - size, ".%03dZ", static_cast<int>(millis));
  return text;
}

std::string make_request_id() {
  return random_id("req_");
}

std::string audit_line(const AuditEvent& event) {
  json::object object;
  object["time"] = event.time;
  object["request_id"] = event.request_id;
  object["tenant"] = optional_string(event.tenant);
  object["model"] = event.model;
  object["key_source"] = optional_string(event.key_source);
  object["key_fingerprint"] = optional_string(event.key_fingerprint);
  object["key_id"] = optional_string(event.key_id);
  object["status"] = event.status;
  object["outcome"] = event.outcome;
  object["stream"] = event.stream;
  object["input_tokens"] = optional_count(event.input_tokens);
  object["output_tokens"] = optional_count(event.output_tokens);
  object["key_version"] = optional_string(event.key_version);
  object["duration_ms"] =
      event.duration_ms ? json::value(*event.duration_ms) : json::value(nullptr);
  // Boost.JSON escapes every control character: whatever a client sent, this stays one line.
  return json::serialize(object) + "\n";
}

std::optional<AuditEvent> parse_audit_line(std::string_view line, std::string& why) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(line, ec);
  if (ec) {
    why = "not JSON (" + ec.message() + ")";
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  const json::object& object = parsed.as_object();
  AuditEvent event;
  std::optional<std::string> text;
  if (!read_string(object, "time", false, text, why)) return std::nullopt;
  event.time = *text;
  if (!looks_like_rfc3339_utc(event.time)) {
    why = "\"time\" is not an RFC 3339 UTC time";
    return std::nullopt;
  }
  if (!read_string(object, "request_id", false, text, why)) return std::nullopt;
  event.request_id = *text;
  if (!read_string(object, "tenant", true, event.tenant, why)) return std::nullopt;
  if (!read_string(object, "model", false, text, why)) return std::nullopt;
  event.model = *text;
  if (!read_string(object, "key_source", true, event.key_source, why)) return std::nullopt;
  if (!read_string(object, "key_fingerprint", true, event.key_fingerprint, why)) {
    return std::nullopt;
  }
  if (!read_string(object, "key_id", true, event.key_id, why)) return std::nullopt;
  const json::value* status = object.if_contains("status");
  if (status == nullptr || !status->is_int64() || status->as_int64() < 100 ||
      status->as_int64() > 599) {
    why = "\"status\" is not an HTTP status";
    return std::nullopt;
  }
  event.status = static_cast<int>(status->as_int64());
  if (!read_string(object, "outcome", false, text, why)) return std::nullopt;
  event.outcome = *text;
  if (event.outcome.empty()) {
    why = "\"outcome\" is empty";
    return std::nullopt;
  }
  const json::value* stream = object.if_contains("stream");
  if (stream == nullptr || !stream->is_bool()) {
    why = "\"stream\" is not true or false";
    return std::nullopt;
  }
  event.stream = stream->as_bool();
  if (!read_count(object, "input_tokens", event.input_tokens, why)) return std::nullopt;
  if (!read_count(object, "output_tokens", event.output_tokens, why)) return std::nullopt;
  // Added with key versions: optional, so that older audit logs still read.
  if (object.contains("key_version") &&
      !read_string(object, "key_version", true, event.key_version, why)) {
    return std::nullopt;
  }
  if (const json::value* duration = object.if_contains("duration_ms");
      duration != nullptr && !duration->is_null()) {
    if (!duration->is_int64() || duration->as_int64() < 0) {
      why = "\"duration_ms\" is not a whole number of milliseconds or null";
      return std::nullopt;
    }
    event.duration_ms = duration->as_int64();
  }
  return event;
}

AuditLog::AuditLog(const std::filesystem::path& path, std::FILE* warnings)
    : path_(path), warnings_(warnings) {
  const std::string where = "the audit log '" + path.string() + "'";
  // O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of hanging the start, and one
  // with a reader is refused by the regular-file check below. No effect on a regular file.
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
               0600);
  if (fd_ < 0) {
    const int saved = errno;
    throw Error(ErrorCode::io,
                "cannot open " + where + ": " +
                    (saved == ELOOP   ? std::string("it is a symbolic link, which llmrt does not "
                                                      "follow")
                     : saved == ENXIO ? std::string("it is a FIFO (with no reader); an audit log "
                                                    "must be a regular file")
                                      : std::string(std::strerror(saved))));
  }
  struct stat status {};
  try {
    if (::fstat(fd_, &status) != 0) {
      throw Error(ErrorCode::io, "cannot examine " + where + ": " + std::strerror(errno));
    }
    // Anyone who can write to an audit log can forge it: the caller's regular file, no g/o write.
    check_file(path, status,
               {"audit log", ErrorCode::io, false, std::numeric_limits<std::size_t>::max()});
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::write(AuditEvent event) {
  if (event.time.empty()) event.time = rfc3339_utc(std::chrono::system_clock::now());
  if (!event.duration_ms) {
    event.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - event.started)
                            .count();
  }
  const std::string line = audit_line(event);
  std::lock_guard lock(mutex_);
  // Where the line starts: a line that cannot be written whole is cut back to here, so that the
  // log only ever holds whole lines and the next event does not land glued to half of this one.
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  std::string_view rest(line);
  while (!rest.empty()) {
    // One write() for the whole line; only a short write (a full disk) takes a second one, still
    // under the mutex, so no other line can land in between.
    const ssize_t written = ::write(fd_, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const std::string why = written < 0 ? std::strerror(errno) : "nothing written";
      const bool partial = rest.size() != line.size();
      const bool cut_back = partial && start >= 0 && ::ftruncate(fd_, start) == 0;
      if (!failure_reported_ && warnings_ != nullptr) {
        std::fprintf(warnings_, "llmrt: warning: cannot write to the audit log '%s': %s%s\n",
                     path_.c_str(), why.c_str(),
                     partial ? (cut_back ? " (the partial line was removed)"
                                         : " (a partial line may remain)")
                             : "");
        std::fflush(warnings_);
      }
      failure_reported_ = true;  // once per run of failures; reset by the next success
      return;
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
  if (failure_reported_ && warnings_ != nullptr) {
    std::fprintf(warnings_, "llmrt: warning: the audit log '%s' is written again\n", path_.c_str());
    std::fflush(warnings_);
  }
  failure_reported_ = false;
}

}  // namespace llmrt::serve
