// An incremental parser for Server-Sent Events (the WHATWG "text/event-stream" format), as used by
// OpenAI's streaming responses. Bytes may arrive split anywhere (inside a line, between CR and LF,
// inside a multi-byte character): the parser keeps what it has not finished and produces the same
// events whatever the splits.
//
// Handled: LF, CRLF and CR line endings (mixed, and split across feeds), comment lines (": ..."),
// multi-line data (several "data:" lines joined with "\n"), "event:" and "id:" fields, a UTF-8 BOM
// at the start, fields without a colon. Unknown fields and "retry:" are ignored.
#ifndef LLMRT_PROVIDER_SSE_PARSER_HPP
#define LLMRT_PROVIDER_SSE_PARSER_HPP

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace llmrt::provider {

// Whether a response's Content-Type says it is an event stream ("text/event-stream", in any case,
// with or without parameters such as "; charset=utf-8").
bool is_event_stream(std::string_view content_type);

struct SseEvent {
  std::string type = "message";  // the "event:" field, "message" when there was none
  std::string data;              // the "data:" lines joined with "\n", eg: "[DONE]"
  std::string id;                // the last "id:" seen in the stream, if any

  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  // Receives each complete event; returns false to stop parsing.
  using Handler = std::function<bool(SseEvent& event)>;

  // The largest event (or line) accepted; a larger one makes feed() throw std::length_error.
  static constexpr std::size_t kMaxEventSize = std::size_t{16} << 20;

  // Parses the next bytes of the stream and calls `handler` for each event they complete.
  // Returns false as soon as the handler does (the rest of `bytes` is then dropped).
  bool feed(std::string_view bytes, const Handler& handler);

  // The end of the stream. An event whose lines were all complete but that was not followed by the
  // blank line is delivered (servers that omit the last blank line still work); a line without its
  // line ending is dropped, as the standard says. Returns false if the handler did.
  bool finish(const Handler& handler);

 private:
  bool end_of_line(const Handler& handler);
  bool dispatch(const Handler& handler);

  std::string line_;        // the line being read, without its ending
  bool skip_lf_ = false;    // the last byte seen was a CR: a LF right after it ends nothing
  bool first_line_ = true;  // a BOM is removed from the very first line only
  bool has_data_ = false;   // at least one "data:" line since the last event
  std::string data_;
  std::string type_;
  std::string last_id_;
};

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_SSE_PARSER_HPP
