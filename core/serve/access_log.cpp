#include "access_log.hpp"

#include <llmrt/key.hpp>

#include <ctime>

namespace llmrt::serve {
namespace {

// What a client sent (a model name, a decoded path), safe to put in a one-line record: control
// characters, spaces, '%' and non-ASCII bytes are percent-encoded, so no client can start a line.
std::string field(std::string_view text, std::size_t limit) {
  if (text.empty()) return "-";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F || c == '%') {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string path_without_keys(std::string_view path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    out += looks_like_a_key(segment) ? std::string_view("[key-like]") : segment;
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

void AccessLog::write(const AccessRecord& record) {
  if (out_ == nullptr) return;
  const double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - record.started)
          .count();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char time_text[32];
  std::strftime(time_text, sizeof time_text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  char line[1024];
  const int size = std::snprintf(
      line, sizeof line,
      "%s %s %s model=%s status=%d duration_ms=%.2f key=%s key_version=%s stream=%d\n", time_text,
      field(record.method, 16).c_str(), field(path_without_keys(record.path), 200).c_str(),
      field(record.model, 128).c_str(), record.status, duration_ms,
      record.key_fingerprint.empty() ? "-" : record.key_fingerprint.c_str(),
      field(record.key_version, 64).c_str(), record.stream ? 1 : 0);
  if (size <= 0) return;
  std::lock_guard lock(mutex_);
  std::fwrite(line, 1, static_cast<std::size_t>(size) < sizeof line ? size : sizeof line - 1, out_);
  std::fflush(out_);
}

}  // namespace llmrt::serve
