// The incremental SSE parser: the same events whatever way the bytes are split.
#include "sse_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace llmrt::provider {
namespace {

// A recorded stream with everything the parser must handle: comments, CRLF, LF and lone CR line
// endings, multi-line data, event and id fields, a field without a colon, retry, [DONE].
const std::string kStream =
    ": keep-alive\r\n"
    "\r\n"
    "id: 1\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n"
    "\r\n"
    ": another comment\n"
    "event: update\n"
    "data: line one\n"
    "data: line two\r\n"
    "\n"
    "data\n"
    "\n"
    "retry: 100\r"
    "data:no-space\r"
    "\r"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n"
    "\n"
    "data: [DONE]\r\n"
    "\r\n";

std::vector<SseEvent> expected_events() {
  return {
      {"message", R"({"choices":[{"delta":{"content":"Hel"}}]})", "1"},
      {"update", "line one\nline two", "1"},
      {"message", "", "1"},
      {"message", "no-space", "1"},
      {"message", R"({"choices":[{"delta":{},"finish_reason":"stop"}]})", "1"},
      {"message", "[DONE]", "1"},
  };
}

std::string describe(const std::vector<SseEvent>& events) {
  std::string text;
  for (const SseEvent& event : events) {
    text += "{" + event.type + "|" + event.data + "|" + event.id + "} ";
  }
  return text;
}

class Collector {
 public:
  SseParser::Handler handler() {
    return [this](SseEvent& event) {
      events.push_back(event);
      return true;
    };
  }
  std::vector<SseEvent> events;
};

// Feeds `stream` in pieces of the given sizes (the last piece takes the rest).
std::vector<SseEvent> parse_in_pieces(const std::string& stream,
                                      const std::vector<std::size_t>& sizes) {
  SseParser parser;
  Collector collector;
  std::size_t at = 0;
  for (const std::size_t size : sizes) {
    if (at >= stream.size()) break;
    EXPECT_TRUE(parser.feed(std::string_view(stream).substr(at, size), collector.handler()));
    at += size;
  }
  if (at < stream.size()) parser.feed(std::string_view(stream).substr(at), collector.handler());
  parser.finish(collector.handler());
  return collector.events;
}

TEST(SseParser, WholeStreamGivesTheExpectedEvents) {
  const auto events = parse_in_pieces(kStream, {kStream.size()});
  EXPECT_EQ(events, expected_events()) << describe(events);
}

TEST(SseParser, ByteByByteGivesTheSameEvents) {
  const auto events = parse_in_pieces(kStream, std::vector<std::size_t>(kStream.size(), 1));
  EXPECT_EQ(events, expected_events()) << describe(events);
}

TEST(SseParser, RandomSplitsGiveTheSameEvents) {
  for (unsigned seed = 1; seed <= 500; ++seed) {
    std::mt19937 random(seed);
    std::uniform_int_distribution<std::size_t> size(0, 12);  // empty feeds too
    std::vector<std::size_t> sizes;
    for (std::size_t total = 0; total < kStream.size();) {
      sizes.push_back(size(random));
      total += sizes.back();
    }
    const auto events = parse_in_pieces(kStream, sizes);
    ASSERT_EQ(events, expected_events()) << "seed " << seed << ": " << describe(events);
  }
}

TEST(SseParser, EveryTwoPieceSplitGivesTheSameEvents) {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    const auto events = parse_in_pieces(kStream, {cut});
    ASSERT_EQ(events, expected_events()) << "cut at " << cut << ": " << describe(events);
  }
}

TEST(SseParser, LfCrAndCrlfLineEndingsGiveTheSameEvents) {
  const std::string lf = "data: a\ndata: b\n\nevent: x\ndata: c\n\ndata: [DONE]\n\n";
  std::string crlf;
  std::string cr;
  for (const char c : lf) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  const std::vector<SseEvent> expected = {
      {"message", "a\nb", ""}, {"x", "c", ""}, {"message", "[DONE]", ""}};
  for (const std::string& stream : {lf, crlf, cr}) {
    EXPECT_EQ(parse_in_pieces(stream, {stream.size()}), expected);
    EXPECT_EQ(parse_in_pieces(stream, std::vector<std::size_t>(stream.size(), 1)), expected);
  }
}

TEST(SseParser, LfAfterACrThatEndedTheLastFeedEndsNothing) {
  SseParser parser;
  Collector collector;
  parser.feed("data: a\r", collector.handler());
  parser.feed("\ndata: b\r", collector.handler());
  parser.feed("\n\r", collector.handler());
  parser.feed("\n", collector.handler());
  ASSERT_EQ(collector.events.size(), 1u) << describe(collector.events);
  EXPECT_EQ(collector.events[0].data, "a\nb");
}

TEST(SseParser, CommentsAloneProduceNoEvent) {
  const std::string stream = ": keep-alive\n\n: ping\r\n\r\n:\n\n";
  EXPECT_TRUE(parse_in_pieces(stream, {stream.size()}).empty());
}

TEST(SseParser, ByteOrderMarkAtTheStartIsIgnored) {
  const std::string stream =
      "\xEF\xBB\xBF"
      "data: x\n\n";
  const auto events = parse_in_pieces(stream, std::vector<std::size_t>(stream.size(), 1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, FinishDeliversCompleteLinesWithoutTheLastBlankLine) {
  SseParser parser;
  Collector collector;
  parser.feed("data: [DONE]\n", collector.handler());
  EXPECT_TRUE(collector.events.empty());
  parser.finish(collector.handler());
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0].data, "[DONE]");
}

TEST(SseParser, FinishDropsALineWithoutItsEnding) {
  SseParser parser;
  Collector collector;
  parser.feed("data: {\"partial", collector.handler());
  parser.finish(collector.handler());
  EXPECT_TRUE(collector.events.empty());
}

TEST(SseParser, HandlerReturningFalseStopsTheFeed) {
  SseParser parser;
  int calls = 0;
  const bool went_on = parser.feed("data: 1\n\ndata: 2\n\ndata: 3\n\n", [&](SseEvent&) {
    ++calls;
    return false;
  });
  EXPECT_FALSE(went_on);
  EXPECT_EQ(calls, 1);
}

TEST(SseParser, OversizedEventThrows) {
  SseParser parser;
  Collector collector;
  const std::string big(1 << 20, 'x');
  EXPECT_THROW(
      {
        parser.feed("data: ", collector.handler());
        for (int i = 0; i < 20; ++i) parser.feed(big, collector.handler());
      },
      std::length_error);
}

TEST(SseParser, OpenAiRecordedStream) {
  // As api.openai.com sends it (abridged ids).
  const std::string stream =
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
      "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
      "\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
      "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,"
      "\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
      "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
      "\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  const auto whole = parse_in_pieces(stream, {stream.size()});
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole.back().data, "[DONE]");
  for (unsigned seed = 1; seed <= 100; ++seed) {
    std::mt19937 random(seed);
    std::uniform_int_distribution<std::size_t> size(1, 40);
    std::vector<std::size_t> sizes;
    for (std::size_t total = 0; total < stream.size();) {
      sizes.push_back(size(random));
      total += sizes.back();
    }
    ASSERT_EQ(parse_in_pieces(stream, sizes), whole) << "seed " << seed;
  }
}

// Both plugins decide "is this answer a stream" with this one check: servers vary the case and add
// parameters; a JSON answer (eg: an error while streaming was asked for) is not a stream.
TEST(SseParser, EventStreamContentTypeInAnyCaseWithParameters) {
  for (const char* stream : {"text/event-stream", "Text/Event-Stream", "TEXT/EVENT-STREAM",
                             "text/event-stream; charset=utf-8"}) {
    EXPECT_TRUE(is_event_stream(stream)) << stream;
  }
  for (const char* other : {"", "application/json", "text/event", "text/plain; text/event-stream",
                            " text/event-stream"}) {
    EXPECT_FALSE(is_event_stream(other)) << other;
  }
}

}  // namespace
}  // namespace llmrt::provider
