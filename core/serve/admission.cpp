#include "admission.hpp"

#include <algorithm>

namespace llmrt::serve {

Admission::Admission(std::size_t max_active, std::size_t max_per_model, std::size_t max_waiting)
    : max_active_(std::max<std::size_t>(max_active, 1)),
      max_per_model_(max_per_model == 0 ? max_active_ : std::min(max_per_model, max_active_)),
      max_waiting_(max_waiting) {}

bool Admission::has_room(const std::string& model) const {
  if (active_ >= max_active_) return false;
  auto it = per_model_.find(model);
  return it == per_model_.end() || it->second < max_per_model_;
}

Admission::Entry Admission::enter(const std::string& model, Grant grant) {
  std::lock_guard lock(mutex_);
  Entry entry;
  if (has_room(model)) {
    ++active_;
    ++per_model_[model];
    entry.ticket = std::make_unique<Ticket>(*this, model);
  } else if (waiting_.size() < max_waiting_) {
    entry.waiter = next_waiter_++;
    waiting_.push_back({entry.waiter, model, std::move(grant)});
  }
  return entry;
}

bool Admission::withdraw(std::uint64_t waiter) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const Waiter& w) { return w.id == waiter; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

void Admission::release(const std::string& model) {
  Grant grant;
  std::unique_ptr<Ticket> ticket;
  {
    std::lock_guard lock(mutex_);
    --active_;
    if (auto it = per_model_.find(model); it != per_model_.end() && --it->second == 0) {
      per_model_.erase(it);
    }
    // The first waiter whose model has room now takes the slot.
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (!has_room(it->model)) continue;
      ++active_;
      ++per_model_[it->model];
      ticket = std::make_unique<Ticket>(*this, it->model);
      grant = std::move(it->grant);
      waiting_.erase(it);
      break;
    }
  }
  if (grant) grant(std::move(ticket));
}

Admission::Snapshot Admission::snapshot() const {
  std::lock_guard lock(mutex_);
  return {active_, waiting_.size(), max_active_,
          active_ < max_active_ || waiting_.size() < max_waiting_};
}

}  // namespace llmrt::serve
