// Reading key material: from a file, from stdin, or from the terminal with echo off. Every buffer
// that held key bytes is wiped (OPENSSL_cleanse) before it is freed.
#ifndef LLMRT_CLI_SECRET_INPUT_HPP
#define LLMRT_CLI_SECRET_INPUT_HPP

#include <llmrt/key.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmrt::cli {

// A string that wipes its bytes when destroyed or moved into a Key. Grows without leaving copies
// behind: the old buffer is wiped before it is released.
class SecretString {
 public:
  SecretString() = default;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { wipe(); }

  void append(const char* data, std::size_t size);
  // Removes one trailing "\n" or "\r\n", if there is one.
  void strip_one_newline();
  std::size_t size() const { return value_.size(); }
  std::string_view view() const { return value_; }

  // Copies the bytes into a Key and wipes this string.
  Key take_key();

  void wipe();

 private:
  std::string value_;
};

// Wipes the bytes of `text` in place (its size stays).
void wipe_string(std::string& text);

// True when standard input is a terminal.
bool stdin_is_terminal();

// The most bytes read as a key from a file or stdin; anything larger cannot be a key.
inline constexpr std::size_t kMaxSecretInput = 64 * 1024;

// The contents of `path` minus one trailing newline. Throws Error(io) if it cannot be read or is
// larger than kMaxSecretInput (the message names the file, never its contents).
void read_key_file(const std::filesystem::path& path, SecretString& out);

// All of stdin minus one trailing newline. Throws Error(io) as read_key_file.
void read_key_from_stdin(SecretString& out);

// Prints `prompt` on stderr and reads one line from the terminal on stdin with echo turned off.
void read_key_from_terminal(const char* prompt, SecretString& out);

// All of stdin, as text (for prompts, not keys).
std::string read_all_stdin();

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_SECRET_INPUT_HPP
