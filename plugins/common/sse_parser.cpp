#include "sse_parser.hpp"

#include <stdexcept>

#include "ascii.hpp"

namespace llmrt::provider {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

bool is_event_stream(std::string_view content_type) {
  return starts_with_nocase(content_type, "text/event-stream");
}

bool SseParser::feed(std::string_view bytes, const Handler& handler) {
  while (!bytes.empty()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const std::size_t end = bytes.find_first_of("\r\n");
    const std::string_view piece = bytes.substr(0, end);
    if (line_.size() + piece.size() + data_.size() > kMaxEventSize) {
      throw std::length_error("an event of the stream is larger than 16 MiB");
    }
    line_.append(piece);
    if (end == std::string_view::npos) return true;
    skip_lf_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (!end_of_line(handler)) return false;
  }
  return true;
}

bool SseParser::finish(const Handler& handler) {
  line_.clear();
  skip_lf_ = false;
  return dispatch(handler);
}

bool SseParser::end_of_line(const Handler& handler) {
  std::string_view line = line_;
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  bool go_on = true;
  if (line.empty()) {
    go_on = dispatch(handler);
  } else if (line.front() != ':') {  // a line starting with ':' is a comment
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "data") {
      if (has_data_) data_.push_back('\n');
      data_.append(value);
      has_data_ = true;
    } else if (field == "event") {
      type_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    }
  }
  line_.clear();
  return go_on;
}

bool SseParser::dispatch(const Handler& handler) {
  if (!has_data_) {
    type_.clear();
    return true;
  }
  SseEvent event;
  if (!type_.empty()) event.type = std::move(type_);
  event.data = std::move(data_);
  event.id = last_id_;
  type_.clear();
  data_.clear();
  has_data_ = false;
  return handler(event);
}

}  // namespace llmrt::provider
