// Process isolation: each check body runs in a forked child with a timeout, so that a plugin that
// crashes, aborts, calls exit() or hangs fails that one check and not the whole run. The child
// sends its verdict (an opaque payload) back through a pipe; its stdout and stderr are captured so
// that what the plugin or the C++ runtime printed before dying (eg: "terminate called after
// throwing") can be shown.
#ifndef LLMRT_CONFORMANCE_ISOLATION_HPP
#define LLMRT_CONFORMANCE_ISOLATION_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace llmrt::conformance {

struct Isolated {
  enum class End {
    reported,   // the body returned and its payload arrived
    crashed,    // the child was killed by a signal
    timed_out,  // the child did not finish in time and was killed
    exited,     // the child ended without reporting (eg: the plugin called exit())
  };
  End end = End::reported;
  std::string payload;   // the body's return value (End::reported)
  std::string failure;   // eg: "killed by SIGSEGV (Segmentation fault)", "timed out after 10000 ms"
  std::string output;    // the last lines the child printed on stdout/stderr
  std::string activity;  // what the child last noted it was doing (crashed, timed out, exited)
};

// Runs `body` in a child process; kills it after `timeout_ms`.
Isolated run_isolated(const std::function<std::string()>& body, unsigned timeout_ms);

// Runs `body` in this process (--in-process): no protection, for debugging under gdb.
Isolated run_in_process(const std::function<std::string()>& body);

// True inside a child started by run_isolated.
bool in_isolated_child() noexcept;

// From inside an isolated child: sends `payload` as the verdict and ends the child at once,
// whatever other threads (eg: the plugin's) are doing. Async-signal-safe. Returns (doing nothing)
// when not in an isolated child.
void report_and_exit(const char* payload, std::size_t size) noexcept;

// From inside an isolated child: records what the check is doing right now (eg: "calling model
// 'echo' through execute"), so that a crash or a timeout can say where it happened. Thread-safe;
// an empty text clears it. Does nothing in-process.
void note_activity(std::string_view what) noexcept;

// "SIGSEGV (Segmentation fault)".
std::string signal_description(int signal_number);

// A watchdog for one slow operation inside a check: if it is not disarmed within `limit`, the
// verdict `payload_if_missed` is reported at once (in an isolated child; in-process it only
// remembers that the limit was missed).
class Deadline {
 public:
  Deadline(std::chrono::milliseconds limit, std::string payload_if_missed);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Stops the watchdog. Returns true if the limit had been missed.
  bool disarm();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool disarmed_ = false;
  bool missed_ = false;
  std::string payload_;
  std::thread watcher_;
};

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_ISOLATION_HPP
