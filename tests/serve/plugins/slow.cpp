// slow: model "slow" (streaming, reentrant, takes a key but does not need one) for the gateway
// tests. It echoes the prompt word by word like echo, but pauses kWordDelay after each word while
// polling for a stop, so that a test can hold a call in flight, fill the gateway's slots, or leave
// mid-stream. It never prints the key.
//
// When $LLMRT_SLOW_EVENTS names a file, it appends one line per call event there:
//   "started <first word>", then "finished <first word>" or "cancelled <first word>".
// A test gives each call a distinct first word and reads the file to see that a stop reached it.
#include <fcntl.h>
#include <unistd.h>
#include <llmrt/sdk.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace {

constexpr auto kWordDelay = std::chrono::milliseconds(100);

void record_event(std::string_view event, std::string_view text) {
  const char* path = std::getenv("LLMRT_SLOW_EVENTS");
  if (path == nullptr || *path == '\0') return;
  const std::size_t space = text.find(' ');
  const std::string line =
      std::string(event) + " " + std::string(text.substr(0, space)).substr(0, 100) + "\n";
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  // One write with O_APPEND: lines of concurrent calls never interleave.
  const ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;
  ::close(fd);
}

// False once the host asked the call to stop.
bool pause(llmrt::sdk::Output& out) {
  const auto until = std::chrono::steady_clock::now() + kWordDelay;
  while (std::chrono::steady_clock::now() < until) {
    if (out.stop_requested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return !out.stop_requested();
}

struct Slow {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "slow",
      .display_name = "Slow echo (gateway tests)",
      .key_name = "slow",
      .streaming = true,
      .reentrant = true,
      .deterministic = true,
  };

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
    record_event("started", prompt.text);
    const std::string_view text = prompt.text;
    std::size_t start = 0;
    bool stopped = false;
    while (start < text.size() && !stopped) {
      std::size_t end = text.find(' ', start);
      end = end == std::string_view::npos ? text.size() : text.find_first_not_of(' ', end);
      if (end == std::string_view::npos) end = text.size();
      stopped = !out.write(text.substr(start, end - start)) || !pause(out);
      start = end;
    }
    record_event(stopped || out.stop_requested() ? "cancelled" : "finished", prompt.text);
  }

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out, const llmrt::sdk::Key&) {
    execute(prompt, out);
  }
};

}  // namespace

LLMRT_PLUGIN("slow", "1.0.0", Slow)
