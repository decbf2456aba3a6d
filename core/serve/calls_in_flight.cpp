#include "calls_in_flight.hpp"

namespace llmrt::serve {

CallsInFlight::~CallsInFlight() {
  std::unique_lock lock(mutex_);
  none_.wait(lock, [&] { return count_.load(std::memory_order_acquire) == 0; });
}

void CallsInFlight::remove() {
  if (count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The last one: wake the destructor, under the lock so that its check-then-wait cannot miss it.
  std::lock_guard lock(mutex_);
  none_.notify_all();
}

}  // namespace llmrt::serve
