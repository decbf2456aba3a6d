#include "utf8_repair.hpp"

#include <cstdint>

namespace llmrt::serve {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed sequence at `text[i]` (Unicode 15, table 3-7), 0 if ill-formed,
// or -1 if it is a valid prefix cut short by the end of `text`.
int sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  int length;
  std::uint8_t low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= text.size()) return -1;
    const std::uint8_t next = byte(i + k);
    if (k == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xBF)) return 0;
  }
  return length;
}

}  // namespace

std::string Utf8Repair::feed(std::string_view bytes) {
  std::string text = std::move(held_);
  held_.clear();
  text.append(bytes);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const int length = sequence_length(text, i);
    if (length > 0) {
      out.append(text, i, static_cast<std::size_t>(length));
      i += static_cast<std::size_t>(length);
    } else if (length < 0) {
      held_ = text.substr(i);  // wait for the rest of this character
      break;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string Utf8Repair::finish() {
  if (held_.empty()) return {};
  held_.clear();
  return std::string(kReplacement);
}

std::string valid_utf8(std::string_view bytes) {
  Utf8Repair repair;
  std::string out = repair.feed(bytes);
  return out + repair.finish();
}

}  // namespace llmrt::serve
