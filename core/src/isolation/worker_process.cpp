#include "worker_process.hpp"

#include <llmrt/error.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "spawn.hpp"

namespace llmrt::isolation {
namespace {

constexpr std::chrono::milliseconds kTick{20};  // how often should_stop is asked during a call

int milliseconds_until(WorkerProcess::Clock::time_point until) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(until - WorkerProcess::Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::string signal_name(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  const char* description = ::strsignal(signal_number);
  return (abbreviation ? "SIG" + std::string(abbreviation) : std::to_string(signal_number)) +
         (description ? " (" + std::string(description) + ")" : std::string());
}

}  // namespace

WorkerProcess::WorkerProcess(pid_t pid, int socket_fd, std::unique_ptr<PluginLog> log,
                             std::chrono::microseconds answer_spin)
    : pid_(pid),
      socket_fd_(socket_fd),
      log_(std::move(log)),
      answer_spin_(SpinPolicy{answer_spin, false}) {}

WorkerProcess::~WorkerProcess() {
  if (reaped_) {
    if (pid_ > 1) ::kill(-pid_, SIGKILL);  // what the plugin may have left behind in its group
  } else {
    kill_and_reap(pid_);
  }
  ::close(socket_fd_);
  buffer_.wipe();
  log_.reset();
}

std::unique_ptr<WorkerProcess> WorkerProcess::start(const WorkerStart& start,
                                                    PluginDescription& description) {
  const IsolationConfig& config = *start.config;
  const std::filesystem::path executable =
      config.worker_path ? *config.worker_path : default_worker_path();
  SpawnedWorker spawned;
  try {
    spawned = spawn_worker(executable, config.pass_environment,
                           {"LLMRT_WORKER_SPIN_US=" + std::to_string(config.call_spin.count())});
  } catch (const std::exception& error) {
    throw WorkerFailure(WorkerFailure::Kind::crashed, error.what());
  }
  auto log = std::make_unique<PluginLog>(spawned.log_fd, start.log_name, config.plugin_log,
                                         config.log_lines_per_second);
  std::unique_ptr<WorkerProcess> worker(
      new WorkerProcess(spawned.pid, spawned.socket_fd, std::move(log), config.call_spin));

  FrameWriter load(FrameType::load);
  load.u32(kProtocolVersion)
      .bytes(start.plugin_path.string())
      .bytes(start.user_dir)
      .u32(start.host_abi)
      .u64(config.memory_limit);
  if (!worker->send(load.finish())) worker->fail_crashed("closed its connection before loading");
  const Clock::time_point until = Clock::now() + config.load_timeout;
  std::optional<Frame> answer = worker->next_frame(until, kMaxFrameSize);
  if (!answer) {
    worker->usable_ = false;
    throw WorkerFailure(WorkerFailure::Kind::crashed,
                        "the plugin host did not load the plugin within " +
                            std::to_string(config.load_timeout.count()) + " ms");
  }
  try {
    FrameReader reader(answer->payload);
    if (answer->type == FrameType::load_error) {
      const std::uint32_t kind = reader.u32();
      throw WorkerLoadRefusal(kind, std::string(reader.bytes()));
    }
    if (answer->type != FrameType::describe) {
      throw ProtocolError("it answered the load with an unexpected frame");
    }
    const std::uint32_t version = reader.u32();
    if (version == 0 || version > kProtocolVersion) {
      throw ProtocolError("it speaks protocol version " + std::to_string(version) + ", this host " +
                          std::to_string(kProtocolVersion));
    }
    description = description_from_json(reader.bytes());
  } catch (const ProtocolError& error) {
    worker->fail_crashed(std::string("failed its handshake: ") + error.what());
  }
  return worker;
}

bool WorkerProcess::send(std::string_view frame) {
  while (!frame.empty()) {
    const ssize_t sent = ::send(socket_fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      frame.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A large prompt fills the socket; the worker reads it unless it is dead.
      pollfd fd = {socket_fd_, POLLOUT, 0};
      ::poll(&fd, 1, static_cast<int>(kTick.count()));
      int status = 0;
      if (!reaped_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        wait_status_ = status;
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

std::string WorkerProcess::exit_description() {
  if (!reaped_) {
    // The connection broke: give the process a moment to end, for a precise message.
    for (int i = 0; i < 40 && !reaped_; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        wait_status_ = status;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  if (!reaped_) return "";
  if (WIFSIGNALED(wait_status_)) return " (killed by " + signal_name(WTERMSIG(wait_status_)) + ")";
  if (WIFEXITED(wait_status_)) {
    return " (it exited with status " + std::to_string(WEXITSTATUS(wait_status_)) + ")";
  }
  return "";
}

void WorkerProcess::fail_crashed(const std::string& why) {
  usable_ = false;
  const std::string how = exit_description();
  if (reaped_) {
    if (pid_ > 1) ::kill(-pid_, SIGKILL);
  } else {
    kill_and_reap(pid_);
    reaped_ = true;
  }
  throw WorkerFailure(WorkerFailure::Kind::crashed, "its worker process " + why + how);
}

std::optional<Frame> WorkerProcess::next_frame(Clock::time_point until, std::size_t max_size) {
  for (;;) {
    Frame frame;
    try {
      if (buffer_.take(frame, max_size)) return frame;
    } catch (const ProtocolError& error) {
      fail_crashed(std::string("broke the protocol: ") + error.what());
    }
    pollfd fd = {socket_fd_, POLLIN, 0};
    // An answer usually comes within microseconds: waiting for it busy saves waking this thread's
    // core (and the worker's, whose own spin catches the next call) on an otherwise idle machine.
    const bool arrived = answer_spin_.wait([&] { return ::poll(&fd, 1, 0) != 0; });
    const int ready =
        arrived ? 1
                : ::poll(&fd, 1,
                         std::min<int>(milliseconds_until(until), static_cast<int>(kTick.count())));
    if (ready == 0) {
      // Quiet for a tick: is the worker still there? (A child the plugin forked may hold the
      // socket open after the worker itself died, so EOF alone cannot tell.)
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        wait_status_ = status;
        fail_crashed("ended during the call");
      }
      if (Clock::now() >= until) return std::nullopt;
      continue;
    }
    if (ready < 0) continue;  // EINTR
    try {
      if (!buffer_.fill(socket_fd_)) fail_crashed("closed its connection");
    } catch (const ProtocolError& error) {
      fail_crashed(std::string("broke the protocol: ") + error.what());
    }
  }
}

llmrt_status WorkerProcess::call(std::uint32_t model_index, const llmrt_prompt& prompt,
                                 const llmrt_credential* credential, const llmrt_sink& sink,
                                 const CallLimits& limits) {
  {
    FrameWriter frame(FrameType::call);
    frame.u32(kCallVersion)
        .u32(model_index)
        .u32(prompt.flags)
        .bytes({prompt.text.data, prompt.text.size})
        .bytes({prompt.options.data, prompt.options.size});
    if (credential != nullptr) {
      frame.u32(1)
          .bytes({credential->key.data, credential->key.size})
          .bytes({credential->session_token.data, credential->session_token.size})
          .u64(static_cast<std::uint64_t>(credential->expires_at));
    } else {
      frame.u32(0).bytes({}).bytes({}).u64(0);
    }
    // Call version 2: the conversation, exactly when the runtime passes it to this model (only a
    // model that reads conversations gets a prompt whose struct_size covers it).
    if (LLMRT_PROMPT_HAS(&prompt, history_count)) {
      frame.u32(1).bytes({prompt.system.data, prompt.system.size});
      frame.u32(static_cast<std::uint32_t>(prompt.history_count));
      for (std::size_t i = 0; i < prompt.history_count; ++i) {
        const llmrt_message& turn = prompt.history[i];
        frame.bytes({turn.role.data, turn.role.size}).bytes({turn.content.data, turn.content.size});
      }
    } else {
      frame.u32(0).bytes({}).u32(0);
    }
    std::string_view whole;
    try {
      whole = frame.finish();
    } catch (const ProtocolError&) {
      // Nothing was sent: the worker is fine, the prompt is refused as too large.
      throw Error(ErrorCode::bad_request,
                  "the prompt, with its system prompt, earlier turns and options, is over the " +
                      std::to_string(kMaxFrameSize >> 20) +
                      " MiB a call to a plugin's worker process may carry");
    }
    const bool sent = send(whole);
    frame.wipe();  // the destructor wipes too; the credential is gone from here on
    if (!sent) fail_crashed("closed its connection");
  }

  // The plugin's usage report, forwarded once (kept to be given again for later reports, so that
  // the runtime sees the breach as it would in-process).
  bool usage_seen = false;
  bool usage_readable = false;
  std::string usage_details;
  llmrt_usage usage{};
  auto report_usage = [&] {
    if (!LLMRT_SINK_HAS(&sink, usage) || sink.usage == nullptr) return;
    sink.usage(sink.host_data, usage_readable ? &usage : nullptr);
  };

  enum class Ending { none, timeout, output_too_large } ending = Ending::none;
  bool stop_sent = false;
  std::optional<Clock::time_point> kill_at;
  std::size_t output = 0;
  auto ask_to_stop = [&] {
    if (stop_sent) return;
    stop_sent = true;
    FrameWriter cancel(FrameType::cancel);
    if (!send(cancel.finish())) fail_crashed("closed its connection");
  };
  auto failure = [&](bool killed) {
    const std::string what =
        ending == Ending::timeout
            ? "the call did not finish within its time limit" +
                  std::string(killed ? "; its worker did not stop and was killed" : "")
            : "the call's output passed the limit of " + std::to_string(limits.max_output_bytes) +
                  " bytes" + (killed ? "; its worker did not stop and was killed" : "");
    return WorkerFailure(ending == Ending::timeout ? WorkerFailure::Kind::timeout
                                                   : WorkerFailure::Kind::output_too_large,
                         what);
  };

  for (;;) {
    const Clock::time_point now = Clock::now();
    if (kill_at && now >= *kill_at) {
      usable_ = false;
      kill_and_reap(pid_);
      reaped_ = true;
      throw failure(true);
    }
    if (!kill_at && limits.deadline && now >= *limits.deadline) {
      ending = Ending::timeout;
      kill_at = now + limits.stop_grace;
      ask_to_stop();
    }
    Clock::time_point until = now + kTick;
    if (kill_at) until = std::min(until, *kill_at);
    if (!kill_at && limits.deadline) until = std::min(until, *limits.deadline);
    std::optional<Frame> frame = next_frame(until, kMaxCallReplySize);
    if (!frame) {
      if (!stop_sent && sink.should_stop(sink.host_data) != 0) ask_to_stop();
      continue;
    }
    try {
      FrameReader reader(frame->payload);
      switch (frame->type) {
        case FrameType::chunk: {
          const std::string_view data = reader.bytes();
          output += data.size();
          if (ending == Ending::output_too_large) break;  // what comes past the limit is dropped
          if (limits.max_output_bytes > 0 && output > limits.max_output_bytes) {
            ending = Ending::output_too_large;
            kill_at = Clock::now() + limits.stop_grace;
            ask_to_stop();
            break;
          }
          if (sink.write(sink.host_data, data.data(), data.size()) != 0) ask_to_stop();
          break;
        }
        case FrameType::error: {
          const std::string_view message = reader.bytes();
          sink.error(sink.host_data, message.data(), message.size());
          break;
        }
        case FrameType::usage: {
          if (usage_seen) throw ProtocolError("a second usage frame in one call");
          usage_seen = true;
          usage_readable = reader.u32() != 0;
          usage.struct_size = sizeof(llmrt_usage);
          usage.input_tokens = static_cast<std::int64_t>(reader.u64());
          usage.output_tokens = static_cast<std::int64_t>(reader.u64());
          usage_details = reader.bytes();
          usage.details_json = {usage_details.data(), usage_details.size()};
          if (ending == Ending::none) report_usage();
          break;
        }
        case FrameType::done: {
          const auto status = static_cast<llmrt_status>(reader.u32());
          const std::uint32_t later_reports = reader.at_end() ? 0 : reader.u32();
          if (ending != Ending::none) throw failure(false);
          if (later_reports > 0 && usage_seen) report_usage();  // one more shows the breach
          buffer_.wipe();  // empty between calls; a long stream's room is given back
          return status;
        }
        default:
          throw ProtocolError("an unexpected frame during a call");
      }
    } catch (const ProtocolError& error) {
      fail_crashed(std::string("broke the protocol: ") + error.what());
    }
  }
}

}  // namespace llmrt::isolation
