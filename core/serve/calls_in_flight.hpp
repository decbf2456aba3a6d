// Counts the gateway's model calls whose completion has not finished yet. A call's completion
// runs on a runtime worker (AsyncResponse::on_complete) and answers through the gateway's
// connections, so the gateway's destruction waits for this count to reach zero before the server
// and the context go.
#ifndef LLMRT_SERVE_CALLS_IN_FLIGHT_HPP
#define LLMRT_SERVE_CALLS_IN_FLIGHT_HPP

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace llmrt::serve {

// Threading: every member from any thread. The destructor waits for every Token: a plugin call
// that never returns keeps it waiting (`llmrt serve` exits without it after --shutdown-grace).
class CallsInFlight {
 public:
  // One call counted while it exists. Copyable (a copy counts again), so that it can ride in a
  // std::function; the count is of tokens, which is the number of calls except for an instant.
  class Token {
   public:
    explicit Token(CallsInFlight& owner) : owner_(&owner) { owner_->add(); }
    Token(const Token& other) : owner_(other.owner_) {
      if (owner_ != nullptr) owner_->add();
    }
    Token(Token&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Token& operator=(const Token&) = delete;
    Token& operator=(Token&&) = delete;
    ~Token() {
      if (owner_ != nullptr) owner_->remove();
    }

   private:
    CallsInFlight* owner_;
  };

  CallsInFlight() = default;
  ~CallsInFlight();
  CallsInFlight(const CallsInFlight&) = delete;
  CallsInFlight& operator=(const CallsInFlight&) = delete;

  Token enter() { return Token(*this); }
  std::size_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  void add() { count_.fetch_add(1, std::memory_order_relaxed); }
  void remove();

  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;  // only for the destructor's wait
  std::condition_variable none_;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_CALLS_IN_FLIGHT_HPP
