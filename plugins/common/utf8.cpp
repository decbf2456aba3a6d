#include "utf8.hpp"

#include <cstdint>

namespace llmrt::provider {

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t min = 0;
    if (byte < 0x80) {
      out.push_back(text[i++]);
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2;
      min = 0x80;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3;
      min = 0x800;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4;
      min = 0x10000;
    }
    bool ok = length > 0 && i + length <= text.size();
    std::uint32_t code = length > 0 ? (byte & (0xFF >> (length + 1))) : 0;
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    ok = ok && code >= min && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace llmrt::provider
