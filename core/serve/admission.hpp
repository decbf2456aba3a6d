// Admission control for the gateway: at most `max_active` calls run at once; up to `max_waiting`
// more wait (for at most `max_wait`) for a slot; anything beyond is refused at once (HTTP 503).
#ifndef LLMRT_SERVE_ADMISSION_HPP
#define LLMRT_SERVE_ADMISSION_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

namespace llmrt::serve {

class Admission {
 public:
  Admission(std::size_t max_active, std::size_t max_waiting, std::chrono::milliseconds max_wait)
      : max_active_(max_active), max_waiting_(max_waiting), max_wait_(max_wait) {}

  // Holds one slot until destroyed.
  class Ticket {
   public:
    explicit Ticket(Admission& owner) : owner_(&owner) {}
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { owner_->release(); }

   private:
    Admission* owner_;
  };

  // A slot, or nullptr when the gateway is saturated. Thread-safe.
  std::unique_ptr<Ticket> try_enter();

  std::size_t active() const;

 private:
  void release();

  const std::size_t max_active_;
  const std::size_t max_waiting_;
  const std::chrono::milliseconds max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t active_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_ADMISSION_HPP
