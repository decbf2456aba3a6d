#include "secret_input.hpp"

#include "argument_redaction.hpp"

#include <openssl/crypto.h>
#include <llmrt/error.hpp>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace llmrt::cli {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// Reads `fd` to its end into `out`, refusing more than kMaxSecretInput bytes.
void read_fd(int fd, std::string_view what, SecretString& out) {
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(buffer.data(), buffer.size());
      throw Error(ErrorCode::io, "cannot read " + std::string(what) + ": " + errno_text());
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > kMaxSecretInput) {
      OPENSSL_cleanse(buffer.data(), buffer.size());
      out.wipe();
      throw Error(ErrorCode::io, std::string(what) + " is larger than " +
                                     std::to_string(kMaxSecretInput / 1024) +
                                     " KiB: it does not hold a key");
    }
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  OPENSSL_cleanse(buffer.data(), buffer.size());
}

// The terminal settings to restore if SIGINT arrives while echo is off.
struct termios g_saved_termios;
volatile std::sig_atomic_t g_echo_off = 0;

extern "C" void restore_echo_and_reraise(int signal_number) {
  if (g_echo_off) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  ::write(STDERR_FILENO, "\n", 1);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

}  // namespace

void wipe_string(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
}

void SecretString::append(const char* data, std::size_t size) {
  if (value_.size() + size > value_.capacity()) {
    // Grow by hand so that the old buffer is wiped, not just freed.
    std::string bigger;
    bigger.reserve(std::max<std::size_t>(2 * value_.capacity(), value_.size() + size));
    bigger.append(value_);
    wipe();
    value_.swap(bigger);
  }
  value_.append(data, size);
}

void SecretString::strip_one_newline() {
  std::size_t strip = 0;
  if (value_.size() >= 2 && value_.compare(value_.size() - 2, 2, "\r\n") == 0) {
    strip = 2;
  } else if (!value_.empty() && value_.back() == '\n') {
    strip = 1;
  }
  if (strip > 0) value_.resize(value_.size() - strip);  // newline bytes only: nothing to wipe
}

Key SecretString::take_key() {
  Key key{std::string_view(value_)};
  wipe();
  return key;
}

void SecretString::wipe() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

void read_key_file(const std::filesystem::path& path, SecretString& out) {
  const std::string what = "key file " + shown_key_file_path(path.string());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::io, "cannot read " + what + ": " + errno_text());
  try {
    read_fd(fd, what, out);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  out.strip_one_newline();
}

void read_key_from_stdin(SecretString& out) {
  read_fd(STDIN_FILENO, "standard input", out);
  out.strip_one_newline();
}

void read_key_from_terminal(const char* prompt, SecretString& out) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);

  struct termios original;
  const bool have_termios = ::tcgetattr(STDIN_FILENO, &original) == 0;
  auto previous_handler = SIG_DFL;
  if (have_termios) {
    struct termios silent = original;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    silent.c_lflag |= ECHONL;
    g_saved_termios = original;
    previous_handler = std::signal(SIGINT, restore_echo_and_reraise);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
    g_echo_off = 1;
  }

  std::string read_error;
  char c = 0;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_error = errno_text();
    if (n <= 0) break;
    if (out.size() >= kMaxSecretInput) {
      read_error = "the key is longer than " + std::to_string(kMaxSecretInput / 1024) + " KiB";
      break;
    }
    out.append(&c, 1);
    if (c == '\n') break;
  }
  OPENSSL_cleanse(&c, sizeof c);

  if (have_termios) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &original);
    g_echo_off = 0;
    std::signal(SIGINT, previous_handler);
  }
  if (!read_error.empty()) {
    out.wipe();
    throw Error(ErrorCode::io, "cannot read the key from the terminal: " + read_error);
  }
  out.strip_one_newline();
}

std::string read_all_stdin() {
  std::string text;
  std::array<char, 65536> buffer;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::io, "cannot read standard input: " + errno_text());
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace llmrt::cli
