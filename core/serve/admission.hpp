// Admission control for the gateway, without blocking anyone: at most `max_active` calls run at
// once, and at most `max_per_model` of them on one model (so that one slow model cannot take every
// slot); up to `max_waiting` more wait for a slot, each for at most the wait its caller allows;
// anything beyond is refused at once (HTTP 503 with Retry-After).
#ifndef LLMRT_SERVE_ADMISSION_HPP
#define LLMRT_SERVE_ADMISSION_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace llmrt::serve {

class Admission {
 public:
  // max_per_model 0: max_active.
  Admission(std::size_t max_active, std::size_t max_per_model, std::size_t max_waiting);

  // Holds one slot (of one model) until destroyed. May be destroyed on any thread.
  class Ticket {
   public:
    Ticket(Admission& owner, std::string model) : owner_(&owner), model_(std::move(model)) {}
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { owner_->release(model_); }

   private:
    Admission* owner_;
    std::string model_;
  };

  // Called with the slot once one is free (on the thread that freed it: do not block there).
  using Grant = std::function<void(std::unique_ptr<Ticket>)>;

  struct Entry {
    std::unique_ptr<Ticket> ticket;  // admitted at once
    std::uint64_t waiter = 0;        // else, when non-zero: waiting; `grant` will be called
  };
  // A slot now, or a place in the queue (`grant` is called later, unless withdraw() wins), or
  // neither (both empty): refused. Thread-safe.
  Entry enter(const std::string& model, Grant grant);
  // Leaves the queue. True if the waiter was still waiting (its grant will never be called); false
  // if a slot was granted already (or is being granted) to it.
  bool withdraw(std::uint64_t waiter);

  struct Snapshot {
    std::size_t active = 0;
    std::size_t waiting = 0;
    std::size_t max_active = 0;
    bool admittable = false;  // a new call would get a slot or a place in the queue
  };
  Snapshot snapshot() const;

 private:
  void release(const std::string& model);
  bool has_room(const std::string& model) const;  // with mutex_ held

  struct Waiter {
    std::uint64_t id;
    std::string model;
    Grant grant;
  };

  const std::size_t max_active_;
  const std::size_t max_per_model_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::size_t active_ = 0;
  std::map<std::string, std::size_t, std::less<>> per_model_;
  std::list<Waiter> waiting_;
  std::uint64_t next_waiter_ = 1;
};

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_ADMISSION_HPP
