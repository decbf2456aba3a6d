// Linked into every credentials test program: when the program's tests are done, every error
// message and warning they recorded is searched for every key they used. One hit fails the run.
#include <llmrt/key.hpp>

#include <cstdlib>
#include <fstream>

#include "credentials_test_support.hpp"

namespace llmrt::test {

std::vector<std::string> MessageLog::leaks() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> found;
  for (const auto& message : messages_) {
    for (const auto& secret : secrets_) {
      if (!secret.empty() && message.find(secret) != std::string::npos) {
        found.push_back("a message contains the key sha256:" + sha256_prefix(secret) + ": " +
                        message.substr(0, message.find(secret)) + "...");
      }
    }
  }
  return found;
}

namespace {

class NoKeyInAnyMessage : public ::testing::Environment {
 public:
  void TearDown() override {
    const MessageLog& log = MessageLog::instance();
    // For a look by hand: LLMRT_CREDENTIALS_MESSAGE_LOG=FILE appends every message to FILE.
    if (const char* path = std::getenv("LLMRT_CREDENTIALS_MESSAGE_LOG")) {
      std::ofstream out(path, std::ios::app);
      for (const auto& message : log.messages()) out << message << "\n";
    }
    for (const auto& leak : log.leaks()) ADD_FAILURE() << leak;
  }
};

[[maybe_unused]] ::testing::Environment* const kNoKeyInAnyMessage =
    ::testing::AddGlobalTestEnvironment(new NoKeyInAnyMessage);

}  // namespace
}  // namespace llmrt::test
