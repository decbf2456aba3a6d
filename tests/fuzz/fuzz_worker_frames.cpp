// The bytes a worker process writes to its host: cut into frames by the host's FrameBuffer (read
// from a non-blocking socket, as the host does) and each frame's fields read as the host reads
// them. Only ProtocolError may come out; no frame may be larger than the host allowed.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "isolation/description.hpp"
#include "isolation/protocol.hpp"

namespace {

void read_fields(const llmrt::isolation::Frame& frame) {
  using namespace llmrt::isolation;
  FrameReader reader(frame.payload);
  switch (frame.type) {
    case FrameType::describe:
      reader.u32();
      (void)description_from_json(reader.bytes());
      break;
    case FrameType::load_error:
      reader.u32();
      reader.bytes();
      break;
    case FrameType::chunk:
    case FrameType::error:
      reader.bytes();
      break;
    case FrameType::usage:
      reader.u32();
      reader.u64();
      reader.u64();
      reader.bytes();
      break;
    case FrameType::done:
      reader.u32();
      if (!reader.at_end()) reader.u32();
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::isolation;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  const int buffer_size = 1 << 20;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof buffer_size);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fds[0], data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;  // more than the socket holds: the rest is not part of this input
    sent += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  FrameBuffer buffer;
  try {
    bool open = true;
    while (open) {
      open = buffer.fill(fds[1]);
      Frame frame;
      while (buffer.take(frame, kMaxCallReplySize)) {
        LLMRT_FUZZ_CHECK(frame.payload.size() <= kMaxCallReplySize, "a frame within the limit");
        try {
          read_fields(frame);
        } catch (const ProtocolError&) {
        }
      }
    }
  } catch (const ProtocolError&) {
  }
  buffer.wipe();
  ::close(fds[1]);
  return 0;
}
