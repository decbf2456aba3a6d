#include "admission.hpp"

namespace llmrt::serve {

std::unique_ptr<Admission::Ticket> Admission::try_enter() {
  std::unique_lock lock(mutex_);
  if (active_ < max_active_) {
    ++active_;
    return std::make_unique<Ticket>(*this);
  }
  if (waiting_ >= max_waiting_) return nullptr;
  ++waiting_;
  const bool admitted = freed_.wait_for(lock, max_wait_, [this] { return active_ < max_active_; });
  --waiting_;
  if (!admitted) return nullptr;
  ++active_;
  return std::make_unique<Ticket>(*this);
}

std::size_t Admission::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

void Admission::release() {
  {
    std::lock_guard lock(mutex_);
    --active_;
  }
  freed_.notify_one();
}

}  // namespace llmrt::serve
