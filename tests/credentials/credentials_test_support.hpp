// Helpers for the credential-provider tests: a scripted clock, a log of every error message the
// tests saw (checked against every key they used when the test program ends), and small file
// helpers.
#ifndef LLMRT_CREDENTIALS_TEST_SUPPORT_HPP
#define LLMRT_CREDENTIALS_TEST_SUPPORT_HPP

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <llmrt/error.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "credential.hpp"

namespace llmrt::test {

inline const std::filesystem::path kCredentialsPluginDir = LLMRT_CREDENTIALS_PLUGIN_DIR;
inline const std::filesystem::path kFakeCredentialCommand = LLMRT_FAKE_CREDENTIAL_COMMAND;

// Every key a test uses, and every message llmrt gave it. credentials_test_support.cpp checks at
// exit that no message contains any key (the "grep" of docs/keys.md's promise).
class MessageLog {
 public:
  static MessageLog& instance() {
    static MessageLog log;
    return log;
  }
  void add_secret(std::string secret) {
    std::lock_guard lock(mutex_);
    secrets_.push_back(std::move(secret));
  }
  void add_message(std::string message) {
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(message));
  }
  // "<message> contains <fingerprint of the secret>" for every message containing a secret.
  std::vector<std::string> leaks() const;
  std::vector<std::string> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> secrets_;
  std::vector<std::string> messages_;
};

// A key for a test: registered, so that the final check looks for it in every message.
inline std::string secret(std::string value) {
  MessageLog::instance().add_secret(value);
  return value;
}

// Runs `call`, which must throw llmrt::Error; records and returns the error.
template <class Call>
Error expect_error(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const Error& error) {
    MessageLog::instance().add_message(error.what());
    return error;
  }
  ADD_FAILURE() << "expected an llmrt::Error";
  return Error(ErrorCode::usage, "(no error was thrown)");
}

inline void record(const std::vector<std::string>& warnings) {
  for (const auto& warning : warnings) MessageLog::instance().add_message(warning);
}

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Writes `text` to `path` with `mode`.
inline void write_file(const std::filesystem::path& path, const std::string& text,
                       mode_t mode = 0600) {
  {
    std::ofstream file(path, std::ios::trunc | std::ios::binary);
    file << text;
  }
  ::chmod(path.c_str(), mode);
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// A clock the test moves by hand. Starts at 2030-01-01T00:00:00Z.
class FakeClock {
 public:
  using TimePoint = Credential::Clock::time_point;
  static TimePoint start() {
    return TimePoint(std::chrono::sys_days(std::chrono::year(2030) / 1 / 1).time_since_epoch());
  }
  TimePoint now() const { return TimePoint(TimePoint::duration(ticks_.load())); }
  void set(TimePoint when) { ticks_.store(when.time_since_epoch().count()); }
  template <class Duration>
  void advance(Duration by) {
    set(now() + std::chrono::duration_cast<TimePoint::duration>(by));
  }
  std::function<TimePoint()> function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<TimePoint::duration::rep> ticks_{start().time_since_epoch().count()};
};

}  // namespace llmrt::test

#endif  // LLMRT_CREDENTIALS_TEST_SUPPORT_HPP
