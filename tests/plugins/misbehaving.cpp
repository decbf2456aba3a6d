// misbehaving: the bad-plugin corpus of plugin isolation (docs/isolation.md). Each model breaks
// the host in one way that only a worker process survives; they are for `process` isolation tests
// ONLY (in-process, "segfault" takes the test down and "close-socket" closes one of its fds).
//   ok            writes the prompt text (to show the plugin serves again after a fault)
//   segfault      writes through a null pointer
//   abort         calls abort()
//   exit          calls _exit(7)
//   spin          loops forever, never asking should_stop
//   sleep         sleeps forever, never asking should_stop
//   flood         writes 64 KiB chunks forever, ignoring write's answer
//   stderr        prints 20000 lines on stderr, then writes "done"
//   close-socket  closes fd 3 (the worker's connection to the host), then returns
//   garbage       writes a garbage frame on fd 3, then sleeps
//   fork-exit     forks a child that sleeps holding every fd, then _exit(0)s
//   slow          writes "pid:<its pid>\n", then a word every 20 ms (up to 500), honouring
//                 should_stop: for killing a worker from outside mid-stream
//   env           writes the value of the environment variable named by the prompt, or "(unset)"
//   hog           allocates and touches 64 MiB blocks until malloc fails (up to 64 GiB), then
//                 fails with "out of memory after N MiB": for RLIMIT_AS (run it with a limit only)
#include <llmrt/plugin.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

llmrt_status write_text(const llmrt_sink* out, const std::string& text) {
  return out->write(out->host_data, text.data(), text.size()) != 0 ? LLMRT_CANCELLED : LLMRT_OK;
}

// A real invalid write, even in a UBSan build (whose null check would otherwise end the process
// with its own report instead of the signal).
// The pointer itself is volatile, so that the compiler cannot prove it null and drop the write.
int* volatile nowhere = nullptr;
__attribute__((no_sanitize("undefined"), noinline)) void write_through_null() {
  *nowhere = 1;
}

llmrt_status run(const llmrt_model* model, const llmrt_prompt* prompt, const llmrt_sink* out) {
  const std::string id = model->id;
  const std::string text(prompt->text.data, prompt->text.size);
  if (id == "ok") return write_text(out, text);
  if (id == "segfault") write_through_null();
  if (id == "abort") std::abort();
  if (id == "exit") ::_exit(7);
  if (id == "spin") {
    volatile unsigned long turns = 0;
    for (;;) {
      turns = turns + 1;
    }
  }
  if (id == "sleep") {
    for (;;) ::sleep(1);
  }
  if (id == "flood") {
    const std::string block(64 * 1024, 'x');
    for (;;) out->write(out->host_data, block.data(), block.size());
  }
  if (id == "stderr") {
    for (int i = 0; i < 20000; ++i) std::fprintf(stderr, "flood line %d\n", i);
    return write_text(out, "done");
  }
  if (id == "close-socket") {
    ::close(3);
    return write_text(out, "closed");
  }
  if (id == "garbage") {
    const char garbage[] = "\xff\xff\xff\x7f\x42not a frame at all";
    (void)!::write(3, garbage, sizeof garbage);
    for (;;) ::sleep(1);
  }
  if (id == "fork-exit") {
    if (::fork() == 0) {
      ::sleep(30);
      ::_exit(0);
    }
    ::_exit(0);
  }
  if (id == "slow") {
    if (write_text(out, "pid:" + std::to_string(::getpid()) + "\n") != LLMRT_OK) {
      return LLMRT_CANCELLED;
    }
    for (int i = 0; i < 500; ++i) {
      if (out->should_stop(out->host_data) != 0) return LLMRT_CANCELLED;
      ::usleep(20000);
      if (write_text(out, "word ") != LLMRT_OK) return LLMRT_CANCELLED;
    }
    return LLMRT_OK;
  }
  if (id == "env") {
    const char* value = std::getenv(text.c_str());
    return write_text(out, value ? value : "(unset)");
  }
  if (id == "hog") {
    std::size_t megabytes = 0;
    constexpr std::size_t kBlock = 64u << 20;
    for (; megabytes < (64u << 10); megabytes += 64) {
      void* block = std::malloc(kBlock);
      if (block == nullptr) break;
      std::memset(block, 1, kBlock);  // leaked on purpose: the worker's memory is what is tested
    }
    const std::string message = "out of memory after " + std::to_string(megabytes) + " MiB";
    out->error(out->host_data, message.data(), message.size());
    return LLMRT_FAILED;
  }
  static const char kUnknown[] = "unknown model";
  out->error(out->host_data, kUnknown, sizeof kUnknown - 1);
  return LLMRT_FAILED;
}

#define LLMRT_MISBEHAVING_MODEL(name, id)                                             \
  const llmrt_model name = {                                                          \
      sizeof(llmrt_model), id,     nullptr, nullptr, nullptr, &run, nullptr, nullptr, \
      LLMRT_CAP_REENTRANT, nullptr}

LLMRT_MISBEHAVING_MODEL(ok, "ok");
LLMRT_MISBEHAVING_MODEL(segfault, "segfault");
LLMRT_MISBEHAVING_MODEL(abort_model, "abort");
LLMRT_MISBEHAVING_MODEL(exit_model, "exit");
LLMRT_MISBEHAVING_MODEL(spin, "spin");
LLMRT_MISBEHAVING_MODEL(sleep_model, "sleep");
LLMRT_MISBEHAVING_MODEL(flood, "flood");
LLMRT_MISBEHAVING_MODEL(stderr_model, "stderr");
LLMRT_MISBEHAVING_MODEL(close_socket, "close-socket");
LLMRT_MISBEHAVING_MODEL(garbage, "garbage");
LLMRT_MISBEHAVING_MODEL(fork_exit, "fork-exit");
LLMRT_MISBEHAVING_MODEL(slow, "slow");
LLMRT_MISBEHAVING_MODEL(env, "env");
LLMRT_MISBEHAVING_MODEL(hog, "hog");

const llmrt_model* const kModels[] = {
    &ok,           &segfault,     &abort_model, &exit_model, &spin, &sleep_model, &flood,
    &stderr_model, &close_socket, &garbage,     &fork_exit,  &slow, &env,         &hog};

const llmrt_plugin kPlugin = {sizeof(llmrt_plugin),
                              LLMRT_ABI_VERSION,
                              "misbehaving",
                              "1.0.0",
                              sizeof kModels / sizeof kModels[0],
                              kModels,
                              nullptr};

}  // namespace

extern "C" LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* /*host*/,
                                                               uint32_t* plugin_abi_version) {
  *plugin_abi_version = LLMRT_ABI_VERSION;
  return &kPlugin;
}
