// One line per request: time, method, path, model, status, duration, key fingerprint, the label of
// the stored key version used (docs/keys.md#key-versions). Never a key.
#ifndef LLMRT_SERVE_ACCESS_LOG_HPP
#define LLMRT_SERVE_ACCESS_LOG_HPP

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace llmrt::serve {

struct AccessRecord {
  std::string method;
  std::string path;
  std::string model;  // "-" when none
  int status = 0;
  std::string key_fingerprint;  // "sha256:..." of the client's key, or "-"
  bool stream = false;
  std::chrono::steady_clock::time_point started;
  std::string key_version;  // the stored key version's label, or empty: "-"
};

// `path` with each '/'-separated segment that looks like a key (llmrt::looks_like_a_key) replaced
// by "[key-like]": a client that put its key in the URL (a base URL with the key in it) finds it
// neither in the access log nor in the 404 it gets back.
std::string path_without_keys(std::string_view path);

class AccessLog {
 public:
  // Writes to `out` (not owned; nullptr: logging off). Thread-safe: each record is one write.
  explicit AccessLog(std::FILE* out) : out_(out) {}
  void write(const AccessRecord& record);
  bool enabled() const { return out_ != nullptr; }

 private:
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_ACCESS_LOG_HPP
