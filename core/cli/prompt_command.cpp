// llmrt prompt: sends one prompt through a model and prints the reply as it streams.
//
// The key travels in a straight line: --key / --key-file becomes an llmrt::Key (the string that
// held it is wiped at once), goes into PromptOptions::key, and the runtime resolves it against the
// model's other sources (--key-name, environment, keys file). Only the runtime decides which key a
// model gets; this file never looks at the environment or the keys file itself.
#include "cli_output.hpp"
#include "commands.hpp"
#include "conversation_log.hpp"
#include "isolation_options.hpp"
#include "prompt_keys.hpp"
#include "secret_input.hpp"

#include <llmrt/error.hpp>
#include <llmrt/runtime.hpp>

#include <pthread.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

namespace llmrt::cli {

namespace {

// Set by the first SIGINT; the second ends the process at once.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void interrupt_now() {
  static const char kMessage[] = "\nllmrt: error: interrupted\n";
  ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(kExitInterrupted);
}

extern "C" void on_interrupt(int) {
  if (g_interrupted.exchange(true)) interrupt_now();
}

// Turns SIGINT into a clean cancellation: the running call stops at its next chunk. A second
// SIGINT ends the process at once.
// A synchronous call checks interrupted() at each chunk, so a signal handler that sets a flag is
// enough. An async call must be cancel()ed, which a signal handler may not do (it takes locks):
// then a thread waits for the signal instead, blocked everywhere else (the runtime's workers
// inherit the mask). Starting and joining that thread was 4% of a synchronous echo prompt.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(bool cancels_async_calls) {
    g_interrupted = false;
    if (!cancels_async_calls) {
      struct sigaction action {};
      action.sa_handler = &on_interrupt;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      ::sigaction(SIGINT, &action, &previous_action_);
      return;
    }
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_mask_);
    thread_ = std::thread([this] { watch(); });
  }
  ~InterruptWatcher() {
    if (!thread_.joinable()) {
      ::sigaction(SIGINT, &previous_action_, nullptr);
      return;
    }
    closing_ = true;
    pthread_kill(thread_.native_handle(), SIGINT);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  bool interrupted() const { return g_interrupted; }

  // The async call to cancel on SIGINT, or nullptr.
  void set_call(AsyncResponse* call) {
    const std::lock_guard lock(mutex_);
    call_ = call;
    if (call_ != nullptr && g_interrupted) call_->cancel();
  }

 private:
  void watch() {
    for (;;) {
      int signal_number = 0;
      if (sigwait(&signals_, &signal_number) != 0) continue;
      if (closing_) return;
      if (g_interrupted.exchange(true)) interrupt_now();
      const std::lock_guard lock(mutex_);
      if (call_ != nullptr) call_->cancel();
    }
  }

  struct sigaction previous_action_ {};
  sigset_t signals_;
  sigset_t previous_mask_;
  std::atomic<bool> closing_{false};
  std::mutex mutex_;
  AsyncResponse* call_ = nullptr;
  std::thread thread_;
};

// Writes the reply to stdout and remembers whether it ended with a newline.
class ReplyWriter {
 public:
  void write(std::string_view chunk, bool flush) {
    if (chunk.empty()) return;
    write_stdout(chunk);
    wrote_any_ = true;
    ends_with_newline_ = chunk.back() == '\n';
    if (flush) flush_stdout();
  }
  // The output always ends with a newline: the reply's own, or one added (an empty reply prints
  // an empty line).
  void finish() {
    if (!ends_with_newline_) write_stdout("\n");
    ends_with_newline_ = true;
    flush_stdout();
  }
  // After an error: ends a partial reply's line, prints nothing if there was no reply.
  void finish_partial() {
    if (wrote_any_) finish();
  }

 private:
  bool wrote_any_ = false;
  bool ends_with_newline_ = false;
};

std::string prompt_text(PromptArgs& args) {
  if (args.text) return std::move(*args.text);
  if (stdin_is_terminal()) {
    throw Error(ErrorCode::usage,
                "no prompt given: pass TEXT as an argument or pipe it on standard input");
  }
  return read_all_stdin();
}

void print_warnings(const Response& response) {
  for (const std::string& warning : response.warnings) print_warning(warning);
}

// Runs the call on this thread. Chunks always go through on_chunk, even with --no-stream (then
// they are collected and printed at the end), so that SIGINT can stop the call at the next chunk.
Response run_sync(Conversation& conversation, const std::string& text, PromptOptions options,
                  bool stream, ReplyWriter& writer, const InterruptWatcher& watcher) {
  options.stream = stream;
  std::string collected;
  options.on_chunk = [&](std::string_view chunk) {
    if (watcher.interrupted()) return false;
    if (stream) {
      writer.write(chunk, true);
    } else {
      collected += chunk;
    }
    return !watcher.interrupted();
  };
  Response response = conversation.prompt(text, std::move(options));
  if (!stream) writer.write(collected, false);
  return response;
}

Response run_async(Conversation& conversation, std::string text, PromptOptions options, bool stream,
                   ReplyWriter& writer, InterruptWatcher& watcher) {
  options.stream = stream;
  AsyncResponse call = conversation.prompt_async(std::move(text), std::move(options));
  watcher.set_call(&call);
  std::string collected;
  try {
    while (std::optional<std::string> chunk = call.next_chunk()) {
      if (stream) {
        writer.write(*chunk, true);
      } else {
        collected += *chunk;
      }
    }
    Response response = call.get();
    watcher.set_call(nullptr);
    if (!stream) writer.write(collected, false);
    return response;
  } catch (...) {
    watcher.set_call(nullptr);
    call.cancel();  // eg: stdout is gone; do not let the call run on unread
    throw;
  }
}

}  // namespace

void check_key_flags(const PromptArgs& args) {
  const int given = (args.key ? 1 : 0) + (args.key_file ? 1 : 0) + (args.key_name.empty() ? 0 : 1);
  if (given > 1) {
    throw Error(ErrorCode::usage, "--key, --key-file and --key-name cannot be combined: give one");
  }
}

// The per-call key from --key or --key-file, with every intermediate copy wiped.
std::optional<Key> take_per_call_key(PromptArgs& args) {
  if (args.key) {
    Key key{std::string_view(*args.key)};
    wipe_string(*args.key);
    args.key.reset();
    return key;
  }
  if (args.key_file) {
    SecretString contents;
    read_key_file(*args.key_file, contents);
    return contents.take_key();
  }
  return std::nullopt;
}

int run_prompt(PromptArgs& args) {
  check_key_flags(args);
  PromptOptions options;
  options.key = take_per_call_key(args);
  options.key_name = std::move(args.key_name);
  options.options = std::move(args.options);
  options.stream = !args.no_stream;
  options.system = args.system;
  std::string text = prompt_text(args);
  const std::string logged_text = text;

  // Before the runtime starts its workers, so that they inherit the blocked SIGINT (async).
  InterruptWatcher watcher(args.async);
  Runtime runtime(cli_runtime_config());
  print_load_errors(runtime.load_errors());
  std::optional<LoggedConversation> continued;
  if (args.continue_latest || !args.cid.empty()) {
    continued = load_logged_conversation(runtime.user_dir(), args.continue_latest, args.cid);
  }
  const std::string model_id = !args.model.empty() ? args.model
                               : continued         ? continued->model
                                                   : runtime.default_model_id();
  const Model model = runtime.get_model(model_id);
  Conversation conversation =
      model.conversation(continued ? std::move(continued->start) : ConversationStart{});
  const OptionValues logged_options = options.options;

  ReplyWriter writer;
  Response response;
  const auto started = std::chrono::steady_clock::now();
  try {
    response = args.async ? run_async(conversation, std::move(text), std::move(options),
                                      !args.no_stream, writer, watcher)
                          : run_sync(conversation, text, std::move(options), !args.no_stream,
                                     writer, watcher);
  } catch (...) {
    writer.finish_partial();  // a partial reply still ends its line before the error
    // A plugin that fails because the signal interrupted a system call of its own (EINTR) was
    // interrupted all the same.
    if (watcher.interrupted()) {
      print_error("interrupted");
      return kExitInterrupted;
    }
    throw;
  }
  writer.finish();
  print_warnings(response);
  if (response.cancelled || watcher.interrupted()) {
    print_error("interrupted");
    return kExitInterrupted;
  }
  if (!args.no_log) {
    log_turn(runtime.user_dir(), conversation, logged_text, conversation.system(), logged_options,
             response, std::chrono::steady_clock::now() - started);
  }
  return kExitOk;
}

}  // namespace llmrt::cli
