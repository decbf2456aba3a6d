// llmrt-plugin-host: the worker process of plugin isolation (docs/isolation.md). Started by the
// runtime with its socket as fd 3; loads one plugin file with the runtime's own loader
// (load_plugin: symbol table first, RTLD_NOW, negotiation, validation) and serves calls, one at a
// time, speaking the protocol of core/src/isolation/protocol.hpp. The plugin sees exactly the C ABI
// it sees in-process; its stdout and stderr go to the host's log.
#include <llmrt/plugin.h>

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "brief_spin.hpp"
#include "isolation/description.hpp"
#include "isolation/protocol.hpp"
#include "model_binding.hpp"
#include "plugin_library.hpp"

namespace {

using namespace llmrt;
using namespace llmrt::isolation;

constexpr int kSocket = kWorkerSocketFd;
constexpr int kExitHostGone = 0;
constexpr int kExitProtocol = 3;
// How late a cancel frame may be noticed by a plugin that writes or asks should_stop (the host's
// grace period before it kills a worker that does not stop is far longer).
constexpr std::chrono::milliseconds kCancelCheckInterval{1};

// The protocol version agreed with the host at load (the usage frame needs 2).
std::uint32_t agreed_protocol = 1;

void send_or_exit(std::string_view frame) {
  if (!send_all(kSocket, frame)) std::_Exit(kExitHostGone);
}

// How long to wait busy for the next call: LLMRT_WORKER_SPIN_US, set by the host.
std::chrono::microseconds spin_setting() {
  const char* text = std::getenv("LLMRT_WORKER_SPIN_US");
  if (text == nullptr) return std::chrono::microseconds(0);
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 1'000'000) {
    return std::chrono::microseconds(0);
  }
  return std::chrono::microseconds(value);
}

// Reads the next frame; the host gone means there is nothing left to do.
Frame next_frame_or_exit() {
  // Waiting in poll() for input, not in read(): when the host reads this worker's answer, the
  // kernel wakes whoever waits on this socket for room to write, and a blocking read() waits on
  // the same queue without asking what for, so it was woken (and switched in) for nothing once per
  // call. poll() is woken only for what it asked.
  pollfd readable{kSocket, POLLIN, 0};
  // A gateway's next call often follows within microseconds: caught spinning, it costs no wake-up
  // of this process's core (IsolationConfig::call_spin, backing off while it keeps running out).
  static AdaptiveSpin next_call_spin(SpinPolicy{spin_setting(), false});
  if (!next_call_spin.wait([&] { return ::poll(&readable, 1, 0) != 0; })) {
    while (::poll(&readable, 1, -1) < 0 && errno == EINTR) {
    }
  }
  Frame frame;
  try {
    if (!read_frame(kSocket, frame)) std::_Exit(kExitHostGone);
  } catch (const ProtocolError&) {
    std::_Exit(kExitProtocol);
  }
  return frame;
}

// The worker's side of llmrt_sink: output and errors become frames at once; a cancel frame from the
// host turns should_stop (and write's answer) true.
struct WorkerSink {
  bool stopped = false;
  // A call that did not ask to stream gets its output in as few sends as possible (each send is a
  // wake-up of the host): writes are gathered into chunks of up to kMaxChunkSize, and whole frames
  // (chunks, an error, the usage report) wait in `outgoing` until kMaxChunkSize bytes are there or
  // the call ends, when they travel with the done frame in one send.
  bool gather = false;
  std::string gathered;
  std::string outgoing;
  bool usage_sent = false;
  std::uint32_t later_usage_reports = 0;
  // When the host's socket was last looked at for a cancel frame: looking costs a system call, so
  // writes and should_stop look at most once per kCancelCheckInterval.
  std::chrono::steady_clock::time_point last_cancel_check{};

  void queue_frame(std::string_view frame) {
    if (!gather) {
      send_or_exit(frame);
      return;
    }
    outgoing += frame;
    if (outgoing.size() >= kMaxChunkSize) send_outgoing();
  }
  void send_outgoing() {
    if (outgoing.empty()) return;
    send_or_exit(outgoing);
    outgoing.clear();
  }

  void flush() {
    if (gathered.empty()) return;
    FrameWriter chunk(FrameType::chunk);
    chunk.bytes(gathered);
    gathered.clear();
    queue_frame(chunk.finish());
  }

  void check_for_cancel() {
    if (stopped) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_cancel_check < kCancelCheckInterval) return;
    last_cancel_check = now;
    pollfd fd = {kSocket, POLLIN, 0};
    if (::poll(&fd, 1, 0) <= 0) return;
    const Frame frame = next_frame_or_exit();
    if (frame.type != FrameType::cancel) std::_Exit(kExitProtocol);
    stopped = true;
  }

  static int write(void* host_data, const char* data, std::size_t size) noexcept {
    auto& self = *static_cast<WorkerSink*>(host_data);
    self.check_for_cancel();
    if (self.stopped) return 1;
    if (size > 0 && data == nullptr) return 1;
    try {
      if (self.gather) {
        if (self.gathered.size() + size > kMaxChunkSize) self.flush();
        if (size <= kMaxChunkSize) {
          self.gathered.append(data, size);
          return 0;
        }
      }
      do {
        const std::size_t part = std::min(size, kMaxChunkSize);
        FrameWriter chunk(FrameType::chunk);
        chunk.bytes({data, part});
        self.queue_frame(chunk.finish());
        data += part;
        size -= part;
      } while (size > 0);
    } catch (...) {
      return 1;
    }
    return 0;
  }

  static void error(void* host_data, const char* message, std::size_t size) noexcept {
    if (message == nullptr) return;
    try {
      auto& self = *static_cast<WorkerSink*>(host_data);
      self.flush();  // output and errors keep their order
      FrameWriter frame(FrameType::error);
      frame.bytes({message, std::min(size, kMaxErrorSize)});
      self.queue_frame(frame.finish());
    } catch (...) {
    }
  }

  // The first report goes to the host at once, after the output written before it (so the host
  // sees the order the plugin used); later ones are only counted (the host treats them as the
  // breach they are). A report the host could not read travels as unreadable, as in-process.
  static void usage(void* host_data, const llmrt_usage* report) noexcept {
    auto& self = *static_cast<WorkerSink*>(host_data);
    if (agreed_protocol < 2) return;
    if (self.usage_sent) {
      if (self.later_usage_reports < UINT32_MAX) ++self.later_usage_reports;
      return;
    }
    self.usage_sent = true;
    const bool readable =
        report != nullptr &&
        report->struct_size >= offsetof(llmrt_usage, details_json) + sizeof(report->details_json) &&
        (report->details_json.size == 0 || report->details_json.data != nullptr);
    try {
      self.flush();
      FrameWriter frame(FrameType::usage);
      frame.u32(readable ? 1 : 0);
      if (readable) {
        const bool details_fit = report->details_json.size <= kMaxUsageDetailsSize;
        frame.u64(static_cast<std::uint64_t>(report->input_tokens))
            .u64(static_cast<std::uint64_t>(report->output_tokens))
            .bytes(details_fit
                       ? std::string_view(report->details_json.data, report->details_json.size)
                       : std::string_view());
      } else {
        frame.u64(0).u64(0).bytes({});
      }
      self.queue_frame(frame.finish());
    } catch (...) {
    }
  }

  static int should_stop(void* host_data) noexcept {
    auto& self = *static_cast<WorkerSink*>(host_data);
    self.check_for_cancel();
    return self.stopped ? 1 : 0;
  }
};

void serve_call(const LoadedPlugin& loaded, Frame& frame) {
  llmrt_status status = LLMRT_FAILED;
  std::string last_output;
  std::string reply;  // frames the call gathered, then its last chunk and the done frame
  std::uint32_t later_usage_reports = 0;
  {
    FrameReader reader(frame.payload);
    const std::uint32_t version = reader.u32();  // fields of later versions are ignored
    const std::uint32_t index = reader.u32();
    const std::uint32_t flags = reader.u32();
    const std::string_view text = reader.bytes();
    const std::string_view options = reader.bytes();
    const bool has_credential = reader.u32() != 0;
    const std::string_view key = reader.bytes();
    const std::string_view token = reader.bytes();
    const auto expires_at = static_cast<std::int64_t>(reader.u64());
    if (index >= loaded.models.size()) std::_Exit(kExitProtocol);
    // Call version 2: the conversation, which the host sends only to a model that reads it.
    bool has_conversation = false;
    std::string_view system;
    std::vector<llmrt_message> history;
    if (version >= 2) {
      has_conversation = reader.u32() != 0;
      system = reader.bytes();
      const std::uint32_t count = reader.u32();
      // Each turn takes at least its two length fields: a count the frame cannot hold is a lie.
      if (count > reader.remaining() / 8) std::_Exit(kExitProtocol);
      history.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::string_view role = reader.bytes();
        const std::string_view content = reader.bytes();
        history.push_back({{role.data(), role.size()}, {content.data(), content.size()}});
      }
    }

    WorkerSink state;
    state.gather = (flags & LLMRT_PROMPT_STREAM) == 0;
    const llmrt_sink sink = {sizeof(llmrt_sink),       &state,
                             &WorkerSink::write,       &WorkerSink::error,
                             &WorkerSink::should_stop, &WorkerSink::usage};
    // Built as in-process dispatch builds it (conversation_call.cpp): the 2.2 struct for a model
    // that reads conversations, the 2.1 struct (none of the new fields visible) for any other.
    llmrt_prompt prompt = {
        sizeof(llmrt_prompt), flags, {text.data(), text.size()}, {options.data(), options.size()}};
    if (has_conversation) {
      prompt.system = {system.data(), system.size()};
      prompt.history = history.empty() ? nullptr : history.data();
      prompt.history_count = history.size();
    } else {
      prompt.struct_size = offsetof(llmrt_prompt, system);
    }
    const llmrt_credential credential = {sizeof(llmrt_credential),
                                         {key.data(), key.size()},
                                         {token.data(), token.size()},
                                         expires_at};
    status = loaded.models[index]->call(prompt, has_credential ? &credential : nullptr, sink);
    last_output = std::move(state.gathered);
    reply = std::move(state.outgoing);
    later_usage_reports = state.later_usage_reports;
  }
  frame.wipe();  // the credential is gone before the host hears the call is done
  if (!last_output.empty()) {
    FrameWriter chunk(FrameType::chunk);
    chunk.bytes(last_output);
    reply = chunk.finish();
  }
  FrameWriter done(FrameType::done);
  done.u32(static_cast<std::uint32_t>(status));
  if (agreed_protocol >= 2) done.u32(later_usage_reports);
  reply += done.finish();
  send_or_exit(reply);
}

LoadedPlugin load(const Frame& frame) {
  FrameReader reader(frame.payload);
  const std::uint32_t host_version = reader.u32();
  const std::string path(reader.bytes());
  const std::string user_dir(reader.bytes());
  const std::uint32_t host_abi = reader.u32();
  const std::uint64_t memory_limit = reader.u64();
  if (memory_limit > 0) {
    const rlimit limit = {memory_limit, memory_limit};
    ::setrlimit(RLIMIT_AS, &limit);
  }
  try {
    LoadedPlugin loaded = load_plugin(path, HostIdentity{user_dir, host_abi});
    PluginDescription description;
    description.plugin = loaded.info;
    for (const auto& binding : loaded.models) description.models.push_back(binding->info());
    FrameWriter answer(FrameType::describe);
    agreed_protocol = std::min(host_version, kProtocolVersion);
    answer.u32(agreed_protocol).bytes(to_json(description));
    send_or_exit(answer.finish());
    return loaded;
  } catch (const PluginLoadError& error) {
    FrameWriter refusal(FrameType::load_error);
    refusal.u32(static_cast<std::uint32_t>(error.kind())).bytes(error.what());
    send_or_exit(refusal.finish());
  } catch (const std::exception& error) {
    FrameWriter refusal(FrameType::load_error);
    refusal.u32(static_cast<std::uint32_t>(LoadErrorKind::load_failed))
        .bytes("plugin '" + path + "': " + error.what());
    send_or_exit(refusal.finish());
  }
  std::_Exit(0);
}

}  // namespace

// In sanitizer builds: a plugin that crashes must end the worker with its own signal (the host
// names it in the call's error), not be turned into a sanitizer report and an abort().
extern "C" const char* __asan_default_options() {
  return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0";
}
extern "C" const char* __tsan_default_options() {
  return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0";
}

int main(int argc, char** argv) {
  // Die with the host (the launcher thread that spawned us), and close the race where the host
  // died before this line ran.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc > 1 && ::getppid() != static_cast<pid_t>(std::atoll(argv[1]))) return kExitHostGone;
  // Cheap hardening: no privilege gain through exec, and no core dump that could hold a key.
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  const rlimit no_core = {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  Frame first = next_frame_or_exit();
  if (first.type != FrameType::load) return kExitProtocol;
  LoadedPlugin loaded;
  try {
    loaded = load(first);
  } catch (const ProtocolError&) {
    return kExitProtocol;
  }
  for (;;) {
    Frame frame = next_frame_or_exit();
    switch (frame.type) {
      case FrameType::call:
        try {
          serve_call(loaded, frame);
        } catch (const ProtocolError&) {
          return kExitProtocol;
        }
        break;
      case FrameType::cancel:
        break;  // it came after the call had already ended
      default:
        return kExitProtocol;
    }
  }
}
