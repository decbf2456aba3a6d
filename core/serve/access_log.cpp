#include "access_log.hpp"

#include <ctime>

namespace llmrt::serve {

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
      line, sizeof line, "%s %s %s model=%s status=%d duration_ms=%.2f key=%s stream=%d\n",
      time_text, record.method.c_str(), record.path.substr(0, 200).c_str(),
      record.model.empty() ? "-" : record.model.substr(0, 128).c_str(), record.status, duration_ms,
      record.key_fingerprint.empty() ? "-" : record.key_fingerprint.c_str(), record.stream ? 1 : 0);
  if (size <= 0) return;
  std::lock_guard lock(mutex_);
  std::fwrite(line, 1, static_cast<std::size_t>(size) < sizeof line ? size : sizeof line - 1, out_);
  std::fflush(out_);
}

}  // namespace llmrt::serve
