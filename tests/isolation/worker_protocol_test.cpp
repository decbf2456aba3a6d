// The worker protocol (core/src/isolation/protocol.hpp): frames are bounded before anything is
// allocated, unknown frame types and cut-short fields are refused, a frame split across reads is
// reassembled, and a reader ignores fields appended by a later call version.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include "isolation/protocol.hpp"

namespace llmrt::isolation {
namespace {

class SocketPair {
 public:
  SocketPair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    ::fcntl(fds_[0], F_SETFL, ::fcntl(fds_[0], F_GETFL) | O_NONBLOCK);
  }
  ~SocketPair() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int reader() const { return fds_[0]; }
  int writer() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

TEST(WorkerProtocol, AFrameSplitAcrossReadsIsReassembled) {
  SocketPair pair;
  FrameWriter writer(FrameType::chunk);
  writer.bytes("hello, world");
  const std::string_view frame = writer.finish();
  FrameBuffer buffer;
  Frame got;
  ASSERT_TRUE(send_all(pair.writer(), frame.substr(0, 7)));
  ASSERT_TRUE(buffer.fill(pair.reader()));
  EXPECT_FALSE(buffer.take(got));
  ASSERT_TRUE(send_all(pair.writer(), frame.substr(7)));
  ASSERT_TRUE(buffer.fill(pair.reader()));
  ASSERT_TRUE(buffer.take(got));
  EXPECT_EQ(got.type, FrameType::chunk);
  FrameReader reader(got.payload);
  EXPECT_EQ(reader.bytes(), "hello, world");
  EXPECT_TRUE(reader.at_end());
}

TEST(WorkerProtocol, AnOversizedFrameIsRefusedFromItsHeaderAlone) {
  SocketPair pair;
  const char header[] = {'\xff', '\xff', '\xff', '\x7f', static_cast<char>(FrameType::chunk)};
  ASSERT_TRUE(send_all(pair.writer(), {header, sizeof header}));
  FrameBuffer buffer;
  ASSERT_TRUE(buffer.fill(pair.reader()));
  Frame got;
  EXPECT_THROW(buffer.take(got), ProtocolError);
}

TEST(WorkerProtocol, DuringACallTheHostRefusesAFrameLargerThanAChunk) {
  SocketPair pair;
  FrameWriter writer(FrameType::chunk);
  writer.bytes(std::string(kMaxChunkSize + 1, 'x'));
  ASSERT_TRUE(send_all(pair.writer(), writer.finish().substr(0, 64)));  // the header says it all
  FrameBuffer buffer;
  ASSERT_TRUE(buffer.fill(pair.reader()));
  Frame got;
  EXPECT_THROW(buffer.take(got, kMaxCallReplySize), ProtocolError);
}

TEST(WorkerProtocol, AnUnknownFrameTypeIsRefused) {
  SocketPair pair;
  const char header[] = {'\x00', '\x00', '\x00', '\x00', '\x42'};
  ASSERT_TRUE(send_all(pair.writer(), {header, sizeof header}));
  FrameBuffer buffer;
  ASSERT_TRUE(buffer.fill(pair.reader()));
  Frame got;
  EXPECT_THROW(buffer.take(got), ProtocolError);
}

TEST(WorkerProtocol, ACutShortFieldIsRefused) {
  const std::string payload("\x10\x00\x00\x00short", 9);  // says 16 bytes, has 5
  FrameReader reader(payload);
  EXPECT_THROW(reader.bytes(), ProtocolError);
  FrameReader empty("");
  EXPECT_THROW(empty.u32(), ProtocolError);
}

TEST(WorkerProtocol, AReaderIgnoresFieldsALaterCallVersionAppends) {
  FrameWriter writer(FrameType::call);
  writer.u32(kCallVersion + 1).u32(2).bytes("text").bytes("history a later version adds");
  const std::string_view frame = writer.finish();
  FrameReader reader(frame.substr(kFrameHeaderSize));
  EXPECT_EQ(reader.u32(), kCallVersion + 1);
  EXPECT_EQ(reader.u32(), 2u);
  EXPECT_EQ(reader.bytes(), "text");
  EXPECT_FALSE(reader.at_end());  // what this reader does not know is simply left unread
}

TEST(WorkerProtocol, EndOfStreamIsNotAFrame) {
  SocketPair pair;
  ::shutdown(pair.writer(), SHUT_WR);
  FrameBuffer buffer;
  EXPECT_FALSE(buffer.fill(pair.reader()));
}

}  // namespace
}  // namespace llmrt::isolation
