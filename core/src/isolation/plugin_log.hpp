// Reads one worker's stdout/stderr pipe on a thread of its own and passes each line to the host's
// log as "[plugin NAME] line", at most `lines_per_second` lines a second: the rest are counted and
// reported as "[plugin NAME] (N lines dropped)". A flood costs the worker's pipe, never the host's
// memory (lines are cut at 1 KiB, nothing is queued).
//
// Threading: the log function is called from the reader thread only. The destructor stops the
// thread even if a process the plugin started still holds the pipe open.
#ifndef LLMRT_ISOLATION_PLUGIN_LOG_HPP
#define LLMRT_ISOLATION_PLUGIN_LOG_HPP

#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace llmrt::isolation {

using LogFunction = std::function<void(std::string_view line)>;

class PluginLog {
 public:
  // Takes ownership of `fd`. An empty `log` writes to stderr.
  PluginLog(int fd, std::string name, LogFunction log, std::size_t lines_per_second);
  ~PluginLog();
  PluginLog(const PluginLog&) = delete;
  PluginLog& operator=(const PluginLog&) = delete;

 private:
  void run();
  void emit(std::string_view line);

  int fd_;
  int stop_fd_;  // an eventfd that wakes the reader to stop
  std::string prefix_;
  LogFunction log_;
  std::size_t lines_per_second_;
  std::thread reader_;
};

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_PLUGIN_LOG_HPP
