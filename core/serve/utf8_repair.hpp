// Valid UTF-8 to clients, whatever a model writes: invalid bytes become U+FFFD, and a character
// split across two writes is held back until its last byte arrives.
#ifndef LLMRT_SERVE_UTF8_REPAIR_HPP
#define LLMRT_SERVE_UTF8_REPAIR_HPP

#include <string>
#include <string_view>

namespace llmrt::serve {

// One stream's repair. Not thread-safe (one per stream).
class Utf8Repair {
 public:
  // The valid UTF-8 of `held + bytes`, less an incomplete character at the end (held for later).
  std::string feed(std::string_view bytes);
  // What is still held (an incomplete character at the very end) as U+FFFD; "" if nothing.
  std::string finish();

 private:
  std::string held_;
};

// All of `bytes` as valid UTF-8 (a trailing incomplete character becomes U+FFFD).
std::string valid_utf8(std::string_view bytes);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_UTF8_REPAIR_HPP
