// One llmrt-plugin-host worker, seen from the host: started and handshaken by start(), then one
// call at a time through call(). The host never trusts it: every frame is bounded, every wait has
// a deadline, and a worker that dies, hangs up or breaks the protocol is killed (with its process
// group) and reported as a WorkerFailure.
//
// Threading: one thread at a time (the pool hands a worker to one call). Ownership: owns the
// process, its socket and its log reader; the destructor kills and reaps the process.
#ifndef LLMRT_ISOLATION_WORKER_PROCESS_HPP
#define LLMRT_ISOLATION_WORKER_PROCESS_HPP

#include <llmrt/plugin.h>
#include <llmrt/isolation.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "brief_spin.hpp"
#include "description.hpp"
#include "plugin_log.hpp"
#include "protocol.hpp"

namespace llmrt::isolation {

class WorkerFailure : public std::runtime_error {
 public:
  enum class Kind {
    crashed,           // died, hung up or broke the protocol (during a call or its start)
    timeout,           // the call passed its deadline
    output_too_large,  // the call's output passed the limit
  };
  WorkerFailure(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// A plugin the worker's loader refused: the same kind and message as in-process loading.
struct WorkerLoadRefusal : std::runtime_error {
  WorkerLoadRefusal(std::uint32_t kind, const std::string& what)
      : std::runtime_error(what), kind(kind) {}
  std::uint32_t kind;
};

struct WorkerStart {
  std::filesystem::path plugin_path;
  std::string log_name;  // eg: "echo"
  std::string user_dir;
  std::uint32_t host_abi = 0;
  const IsolationConfig* config = nullptr;  // borrowed for start() only
};

class WorkerProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts a worker, has it load the plugin, and returns it with its description.
  // Throws WorkerLoadRefusal for a plugin the loader refused, WorkerFailure(crashed) when the
  // worker cannot be started or fails its handshake (eg: the executable is missing).
  static std::unique_ptr<WorkerProcess> start(const WorkerStart& start,
                                              PluginDescription& description);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  struct CallLimits {
    std::optional<Clock::time_point> deadline;
    std::chrono::milliseconds stop_grace{2000};
    std::size_t max_output_bytes = 0;  // 0: none
  };

  // Runs one call in the worker, forwarding chunks and errors to `sink` and its should_stop to
  // the worker. Returns the plugin's status. Throws WorkerFailure; afterwards usable() says
  // whether the worker can take another call.
  llmrt_status call(std::uint32_t model_index, const llmrt_prompt& prompt,
                    const llmrt_credential* credential, const llmrt_sink& sink,
                    const CallLimits& limits);

  bool usable() const noexcept { return usable_; }
  pid_t pid() const noexcept { return pid_; }

 private:
  WorkerProcess(pid_t pid, int socket_fd, std::unique_ptr<PluginLog> log,
                std::chrono::microseconds answer_spin);

  // Waits for the next frame until `until`. Returns nullopt at the deadline. Throws
  // WorkerFailure(crashed) when the worker died or broke the protocol (and kills it).
  std::optional<Frame> next_frame(Clock::time_point until, std::size_t max_size);
  [[noreturn]] void fail_crashed(const std::string& why);
  std::string exit_description();
  bool send(std::string_view frame);

  pid_t pid_;
  int socket_fd_;
  bool usable_ = true;
  bool reaped_ = false;
  int wait_status_ = 0;
  FrameBuffer buffer_;
  std::unique_ptr<PluginLog> log_;
  AdaptiveSpin answer_spin_;  // waiting for the worker's next frame (IsolationConfig::call_spin)
};

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_WORKER_PROCESS_HPP
