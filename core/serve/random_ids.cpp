#include "random_ids.hpp"

#include <openssl/rand.h>
#include <llmrt/error.hpp>

#include <array>
#include <cstddef>

namespace llmrt::serve {
namespace {

constexpr std::size_t kIdBytes = 12;

class RandomBlock {
 public:
  // The next kIdBytes unused bytes of this thread's block, refilled when spent.
  const unsigned char* take() {
    if (used_ + kIdBytes > block_.size()) {
      if (RAND_bytes(block_.data(), static_cast<int>(block_.size())) != 1) {
        throw Error(ErrorCode::io, "OpenSSL's random generator failed");
      }
      used_ = 0;
    }
    const unsigned char* bytes = block_.data() + used_;
    used_ += kIdBytes;
    return bytes;
  }

 private:
  std::array<unsigned char, 64 * kIdBytes * 8> block_{};
  std::size_t used_ = block_.size();  // empty: filled at the first take()
};

thread_local RandomBlock block;

}  // namespace

std::string random_id(std::string_view prefix) {
  static constexpr char kHex[] = "0123456789abcdef";
  const unsigned char* bytes = block.take();
  std::string id;
  id.reserve(prefix.size() + 2 * kIdBytes);
  id.append(prefix);
  for (std::size_t i = 0; i < kIdBytes; ++i) {
    id += kHex[bytes[i] >> 4];
    id += kHex[bytes[i] & 0x0F];
  }
  return id;
}

}  // namespace llmrt::serve
