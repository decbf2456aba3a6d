// The framed protocol between the runtime and an llmrt-plugin-host worker, over one Unix stream
// socket. Both sides include this header; nothing else is shared.
//
// Every frame is [u32 payload size, little-endian][u8 type][payload], the payload at most
// kMaxFrameSize bytes (a larger size is a protocol violation: the reader never allocates it).
// Conversation:
//   host -> worker  load      {u32 protocol, bytes path, bytes user_dir, u32 host_abi,
//                              u64 memory_limit}
//   worker -> host  describe  {u32 protocol, bytes json}   or   load_error {u32 kind, bytes msg}
//   then, one call at a time:
//   host -> worker  call      {u32 call_version, u32 model_index, u32 prompt_flags, bytes text,
//                              bytes options, u32 has_credential, bytes key, bytes session_token,
//                              u64 expires_at,
//                              call version 2 (ABI 2.2): u32 has_conversation, bytes system,
//                              u32 history_count, {bytes role, bytes content}*history_count,
//                              ...fields appended by later call versions}
//   worker -> host  chunk {bytes}* / error {bytes} ... done {u32 status,
//                              protocol 2: u32 later_usage_reports}
//                   protocol 2: usage {u32 readable, u64 input_tokens, u64 output_tokens,
//                              bytes details_json} at most once per call, where the plugin
//                              reported it (after the output it wrote before); a plugin's further
//                              reports are only counted, in the done frame.
//   host -> worker  cancel {} at any time during a call: the plugin's should_stop turns true.
// Versioning: the load frame carries the host's protocol version, describe answers the version the
// worker speaks (<= the host's). A call frame starts with its own version; a reader reads fields
// it knows and ignores trailing ones, so fields (eg: a system prompt, history) can be appended.
// The credential travels only inside a call frame; both sides wipe the frame after the call.
//
// Threading: none of this is thread-safe; each socket is used by one thread at a time.
// Errors: decoding throws ProtocolError; I/O helpers return false on EOF and throw on errors.
#ifndef LLMRT_ISOLATION_PROTOCOL_HPP
#define LLMRT_ISOLATION_PROTOCOL_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::isolation {

// 2: conversations in the call frame (call version 2), the usage frame, later_usage_reports.
inline constexpr std::uint32_t kProtocolVersion = 2;
inline constexpr std::uint32_t kCallVersion = 2;
// The usage details a worker forwards; longer ones are dropped (the host keeps no more either).
inline constexpr std::size_t kMaxUsageDetailsSize = 64u << 10;
inline constexpr std::size_t kFrameHeaderSize = 5;
inline constexpr std::size_t kMaxFrameSize = 64u << 20;   // a prompt may be large; nothing more
inline constexpr std::size_t kMaxChunkSize = 256u << 10;  // the worker splits larger writes
// FrameBuffer::fill stops reading once it holds this much (a larger frame takes several fills).
inline constexpr std::size_t kFillLimit = kMaxChunkSize + 64u * 1024;
inline constexpr std::size_t kMaxErrorSize = 8u << 10;  // the worker cuts longer messages
// The largest frame a worker may send during a call: a chunk or an error with its length field.
inline constexpr std::size_t kMaxCallReplySize = kMaxChunkSize + 4;
// The worker's end of the socket, in the worker.
inline constexpr int kWorkerSocketFd = 3;

enum class FrameType : std::uint8_t {
  load = 1,
  describe = 2,
  load_error = 3,
  call = 4,
  chunk = 5,
  error = 6,
  cancel = 7,
  done = 8,
  usage = 9,  // protocol 2
};

bool known_frame_type(std::uint8_t type) noexcept;

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds one frame. wipe() clears the bytes (call frames hold a credential).
class FrameWriter {
 public:
  explicit FrameWriter(FrameType type);
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  FrameWriter& u32(std::uint32_t value);
  FrameWriter& u64(std::uint64_t value);
  FrameWriter& bytes(std::string_view value);
  // The whole frame, header included. Throws ProtocolError past kMaxFrameSize.
  std::string_view finish();
  void wipe() noexcept;

 private:
  std::vector<char> bytes_;
};

// Reads the fields of one payload in order. Throws ProtocolError when one is cut short.
class FrameReader {
 public:
  explicit FrameReader(std::string_view payload) : rest_(payload) {}
  std::uint32_t u32();
  std::uint64_t u64();
  std::string_view bytes();
  bool at_end() const noexcept { return rest_.empty(); }
  std::size_t remaining() const noexcept { return rest_.size(); }

 private:
  std::string_view rest_;
};

struct Frame {
  FrameType type = FrameType::done;
  std::string payload;
  void wipe() noexcept;
};

// Accumulates bytes from a non-blocking socket and cuts them into frames (the host side: a worker
// may send half a frame and hang, and the host must never block on it).
class FrameBuffer {
 public:
  // Reads what is available from `fd`. Returns false on EOF; throws ProtocolError on a read error.
  bool fill(int fd);
  // Takes the next whole frame, if any. Throws ProtocolError for a bad type, or a frame larger than
  // `max_size` (at most kMaxFrameSize): the host accepts from a worker only what the worker may
  // send at that point (eg: chunks of at most kMaxChunkSize during a call).
  bool take(Frame& frame, std::size_t max_size = kMaxFrameSize);
  void wipe() noexcept;

 private:
  std::string buffered_;
};

// Blocking I/O (the worker side). send_all returns false when the peer is gone.
bool send_all(int fd, std::string_view data) noexcept;
// Returns false on a clean EOF before a frame starts; throws ProtocolError otherwise.
bool read_frame(int fd, Frame& frame);

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_PROTOCOL_HPP
