// An upstream's event stream as the openai plugin reads it (plugins/common/sse_parser). The parser
// promises the same events however the bytes are split: the input is fed whole, then byte by
// byte, then in pieces whose sizes come from the input itself, and all three must agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "sse_parser.hpp"

namespace {

using llmrt::provider::SseEvent;
using llmrt::provider::SseParser;

std::vector<SseEvent> events_of(std::string_view input, const std::vector<std::size_t>& pieces) {
  SseParser parser;
  std::vector<SseEvent> events;
  const SseParser::Handler keep = [&](SseEvent& event) {
    events.push_back(event);
    return true;
  };
  std::size_t at = 0;
  for (std::size_t piece : pieces) {
    if (at >= input.size()) break;
    piece = std::min(piece, input.size() - at);
    parser.feed(input.substr(at, piece), keep);
    at += piece;
  }
  if (at < input.size()) parser.feed(input.substr(at), keep);
  parser.finish(keep);
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<SseEvent> whole = events_of(input, {size});
  const std::vector<SseEvent> bytewise = events_of(input, std::vector<std::size_t>(size, 1));
  std::vector<std::size_t> pieces;
  for (std::size_t i = 0; i < size; ++i) pieces.push_back(1 + data[i] % 7);
  const std::vector<SseEvent> split = events_of(input, pieces);
  LLMRT_FUZZ_CHECK(whole == bytewise, "byte-by-byte feeding gives the same events");
  LLMRT_FUZZ_CHECK(whole == split, "any split gives the same events");
  return 0;
}
