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

#include <cstdio>
#include <cstdlib>
#include <string>

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

void send_or_exit(std::string_view frame) {
  if (!send_all(kSocket, frame)) std::_Exit(kExitHostGone);
}

// Reads the next frame; the host gone means there is nothing left to do.
Frame next_frame_or_exit() {
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
  // A call that did not ask to stream gets its output in as few chunk frames as possible (each
  // frame is a wake-up of the host): writes are gathered up to kMaxChunkSize, and the last ones
  // travel with the done frame in one send.
  bool gather = false;
  std::string gathered;

  void flush() {
    if (gathered.empty()) return;
    FrameWriter chunk(FrameType::chunk);
    chunk.bytes(gathered);
    gathered.clear();
    send_or_exit(chunk.finish());
  }

  void check_for_cancel() {
    if (stopped) return;
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
        send_or_exit(chunk.finish());
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
      static_cast<WorkerSink*>(host_data)->flush();  // output and errors keep their order
      FrameWriter frame(FrameType::error);
      frame.bytes({message, std::min(size, kMaxErrorSize)});
      send_or_exit(frame.finish());
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
  {
    FrameReader reader(frame.payload);
    reader.u32();  // the call version: version 1's fields are all this worker reads
    const std::uint32_t index = reader.u32();
    const std::uint32_t flags = reader.u32();
    const std::string_view text = reader.bytes();
    const std::string_view options = reader.bytes();
    const bool has_credential = reader.u32() != 0;
    const std::string_view key = reader.bytes();
    const std::string_view token = reader.bytes();
    const auto expires_at = static_cast<std::int64_t>(reader.u64());
    if (index >= loaded.models.size()) std::_Exit(kExitProtocol);

    WorkerSink state;
    state.gather = (flags & LLMRT_PROMPT_STREAM) == 0;
    const llmrt_sink sink = {sizeof(llmrt_sink), &state, &WorkerSink::write, &WorkerSink::error,
                             &WorkerSink::should_stop};
    const llmrt_prompt prompt = {
        sizeof(llmrt_prompt), flags, {text.data(), text.size()}, {options.data(), options.size()}};
    const llmrt_credential credential = {sizeof(llmrt_credential),
                                         {key.data(), key.size()},
                                         {token.data(), token.size()},
                                         expires_at};
    status = loaded.models[index]->call(prompt, has_credential ? &credential : nullptr, sink);
    last_output = std::move(state.gathered);
  }
  frame.wipe();  // the credential is gone before the host hears the call is done
  std::string reply;
  if (!last_output.empty()) {
    FrameWriter chunk(FrameType::chunk);
    chunk.bytes(last_output);
    reply = chunk.finish();
  }
  FrameWriter done(FrameType::done);
  done.u32(static_cast<std::uint32_t>(status));
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
    answer.u32(std::min(host_version, kProtocolVersion)).bytes(to_json(description));
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
