// flood: model "flood" (streaming, reentrant, no key) for the gateway's hostile-client tests. What
// it does is named by the prompt:
//   "bytes N"   writes N bytes of 'a' in 16 KiB chunks, as fast as the host takes them, stopping
//               when asked; a model that answers more than any client should hold;
//   "invalid"   writes "bad \xFF byte, caf\xC3" then "\xA9 ok": an invalid byte, and an "é" split
//               across two writes;
//   "hang"      never returns and never looks at its stop: a wedged plugin.
// Like slow, it appends "started <word>" / "finished <word>" / "cancelled <word>" to
// $LLMRT_SLOW_EVENTS when set ("hang" only ever starts).
#include <fcntl.h>
#include <unistd.h>
#include <llmrt/sdk.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace {

void record_event(std::string_view event, std::string_view word) {
  const char* path = std::getenv("LLMRT_SLOW_EVENTS");
  if (path == nullptr || *path == '\0') return;
  const std::string line = std::string(event) + " flood-" + std::string(word) + "\n";
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;
  ::close(fd);
}

struct Flood {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "flood",
      .display_name = "Flood (gateway tests)",
      .streaming = true,
      .reentrant = true,
  };

  void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
    const std::string_view text = prompt.text;
    if (text.rfind("bytes ", 0) == 0) {
      record_event("started", "bytes");
      std::size_t left = std::strtoull(std::string(text.substr(6)).c_str(), nullptr, 10);
      const std::string chunk(16 * 1024, 'a');
      while (left > 0) {
        const std::size_t size = left < chunk.size() ? left : chunk.size();
        if (!out.write(std::string_view(chunk).substr(0, size))) {
          record_event("cancelled", "bytes");
          return;
        }
        left -= size;
      }
      record_event("finished", "bytes");
    } else if (text == "invalid") {
      out.write("bad \xFF byte, caf\xC3");
      out.write("\xA9 ok");
    } else if (text == "hang") {
      record_event("started", "hang");
      for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else {
      out.write(text);
    }
  }
};

}  // namespace

LLMRT_PLUGIN("flood", "1.0.0", Flood)
