#include "text_rules.hpp"

#include <algorithm>
#include <cstdio>

namespace llmrt::conformance {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not valid there.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  std::size_t extra = 0;
  std::uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + extra >= text.size()) return 0;
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  static constexpr std::uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return extra + 1;
}

}  // namespace

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool valid_model_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxModelIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("._:/@+-").find(c) != std::string_view::npos;
         });
}

bool valid_env_var_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string status_name(llmrt_status status) {
  switch (status) {
    case LLMRT_OK:
      return "LLMRT_OK";
    case LLMRT_FAILED:
      return "LLMRT_FAILED";
    case LLMRT_CANCELLED:
      return "LLMRT_CANCELLED";
    case LLMRT_BAD_REQUEST:
      return "LLMRT_BAD_REQUEST";
    case LLMRT_KEY_REJECTED:
      return "LLMRT_KEY_REJECTED";
    case LLMRT_UNAVAILABLE:
      return "LLMRT_UNAVAILABLE";
    default:
      return "unknown status " + std::to_string(status);
  }
}

std::string printable(std::string_view text, std::size_t max) {
  std::string shown;
  for (std::size_t i = 0; i < text.size();) {
    if (shown.size() >= max) {
      shown += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = utf8_sequence_length(text, i);
    if (byte >= 0x20 && byte != 0x7F && length > 0) {
      shown.append(text.substr(i, length));
      i += length;
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      shown += escaped;
      ++i;
    }
  }
  return shown;
}

std::string version_string(std::uint32_t version) {
  return std::to_string(LLMRT_ABI_MAJOR(version)) + "." + std::to_string(LLMRT_ABI_MINOR(version));
}

}  // namespace llmrt::conformance
