#include "protocol.hpp"

#include <errno.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace llmrt::isolation {
namespace {

void put_le(std::vector<char>& out, std::uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(const char* data, int size) {
  std::uint64_t value = 0;
  for (int i = 0; i < size; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * i);
  }
  return value;
}

// Reads exactly `size` bytes. Returns the number read before EOF (size when complete).
std::size_t read_exact(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd, data + done, size - done);
    if (got == 0) return done;
    if (got < 0) {
      if (errno == EINTR) continue;
      throw ProtocolError(std::string("read failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace

bool known_frame_type(std::uint8_t type) noexcept {
  return type >= static_cast<std::uint8_t>(FrameType::load) &&
         type <= static_cast<std::uint8_t>(FrameType::usage);
}

FrameWriter::FrameWriter(FrameType type) {
  bytes_.resize(kFrameHeaderSize);
  bytes_[4] = static_cast<char>(type);
}

FrameWriter::~FrameWriter() {
  wipe();
}

FrameWriter& FrameWriter::u32(std::uint32_t value) {
  put_le(bytes_, value, 4);
  return *this;
}

FrameWriter& FrameWriter::u64(std::uint64_t value) {
  put_le(bytes_, value, 8);
  return *this;
}

FrameWriter& FrameWriter::bytes(std::string_view value) {
  u32(static_cast<std::uint32_t>(value.size()));
  bytes_.insert(bytes_.end(), value.begin(), value.end());
  return *this;
}

std::string_view FrameWriter::finish() {
  const std::size_t payload = bytes_.size() - kFrameHeaderSize;
  if (payload > kMaxFrameSize) {
    throw ProtocolError("a frame of " + std::to_string(payload) + " bytes is over the limit of " +
                        std::to_string(kMaxFrameSize));
  }
  for (int i = 0; i < 4; ++i) bytes_[i] = static_cast<char>((payload >> (8 * i)) & 0xFF);
  return {bytes_.data(), bytes_.size()};
}

void FrameWriter::wipe() noexcept {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::uint32_t FrameReader::u32() {
  if (rest_.size() < 4) throw ProtocolError("a frame field is cut short");
  const auto value = static_cast<std::uint32_t>(get_le(rest_.data(), 4));
  rest_.remove_prefix(4);
  return value;
}

std::uint64_t FrameReader::u64() {
  if (rest_.size() < 8) throw ProtocolError("a frame field is cut short");
  const std::uint64_t value = get_le(rest_.data(), 8);
  rest_.remove_prefix(8);
  return value;
}

std::string_view FrameReader::bytes() {
  const std::uint32_t size = u32();
  if (rest_.size() < size) throw ProtocolError("a frame field is cut short");
  const std::string_view value = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return value;
}

void Frame::wipe() noexcept {
  if (!payload.empty()) OPENSSL_cleanse(payload.data(), payload.size());
  payload.clear();
}

bool FrameBuffer::fill(int fd) {
  char block[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd, block, sizeof block);
    if (got > 0) {
      buffered_.append(block, static_cast<std::size_t>(got));
      if (static_cast<std::size_t>(got) < sizeof block) return true;
      // Enough for take() to make progress: a worker that writes without end (its socket never
      // empties) must not be read into this buffer without end, ahead of what is consumed.
      if (buffered_.size() >= kFillLimit) return true;
      continue;
    }
    if (got == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    if (errno == ECONNRESET) return false;
    throw ProtocolError(std::string("read failed: ") + std::strerror(errno));
  }
}

bool FrameBuffer::take(Frame& frame, std::size_t max_size) {
  if (buffered_.size() < kFrameHeaderSize) return false;
  const std::uint64_t size = get_le(buffered_.data(), 4);
  const auto type = static_cast<std::uint8_t>(buffered_[4]);
  if (!known_frame_type(type)) {
    throw ProtocolError("a frame of unknown type " + std::to_string(type));
  }
  if (size > std::min(max_size, kMaxFrameSize)) {
    throw ProtocolError("a frame of " + std::to_string(size) + " bytes (the limit is " +
                        std::to_string(std::min(max_size, kMaxFrameSize)) + ")");
  }
  if (buffered_.size() < kFrameHeaderSize + size) return false;
  frame.type = static_cast<FrameType>(type);
  frame.payload.assign(buffered_, kFrameHeaderSize, size);
  buffered_.erase(0, kFrameHeaderSize + size);
  return true;
}

void FrameBuffer::wipe() noexcept {
  if (!buffered_.empty()) OPENSSL_cleanse(buffered_.data(), buffered_.size());
  buffered_.clear();
  if (buffered_.capacity() > kFillLimit) buffered_.shrink_to_fit();  // a large frame's room
}

bool send_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

bool read_frame(int fd, Frame& frame) {
  char header[kFrameHeaderSize];
  const std::size_t got = read_exact(fd, header, sizeof header);
  if (got == 0) return false;
  if (got < sizeof header) throw ProtocolError("the connection closed inside a frame");
  const std::uint64_t size = get_le(header, 4);
  const auto type = static_cast<std::uint8_t>(header[4]);
  if (!known_frame_type(type)) {
    throw ProtocolError("a frame of unknown type " + std::to_string(type));
  }
  if (size > kMaxFrameSize) throw ProtocolError("a frame over the size limit");
  frame.type = static_cast<FrameType>(type);
  frame.payload.resize(size);
  if (read_exact(fd, frame.payload.data(), size) < size) {
    throw ProtocolError("the connection closed inside a frame");
  }
  return true;
}

}  // namespace llmrt::isolation
