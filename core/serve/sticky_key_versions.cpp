#include "sticky_key_versions.hpp"

#include <algorithm>
#include <vector>

namespace llmrt::serve {

void StickyKeyVersions::apply(const AuditEvent& audit, PromptOptions& options) const {
  if (!audit.tenant || !audit.key_id) return;
  std::lock_guard lock(mutex_);
  const auto found = versions_.find({*audit.tenant, *audit.key_id, audit.model});
  if (found != versions_.end()) options.key_version = found->second.first;
}

void StickyKeyVersions::remember(const AuditEvent& audit, const Response& answer) {
  if (!audit.tenant || !audit.key_id || answer.key_version.empty()) return;
  std::lock_guard lock(mutex_);
  if (versions_.size() >= kMaxSessions) {
    // Forget the older half: a map ordered by session, so find the median of the orders.
    std::vector<std::uint64_t> orders;
    orders.reserve(versions_.size());
    for (const auto& [session, entry] : versions_) orders.push_back(entry.second);
    std::nth_element(orders.begin(), orders.begin() + orders.size() / 2, orders.end());
    const std::uint64_t cut = orders[orders.size() / 2];
    std::erase_if(versions_, [cut](const auto& item) { return item.second.second < cut; });
  }
  versions_.try_emplace({*audit.tenant, *audit.key_id, audit.model}, answer.key_version, next_++);
}

void note_key_version(StickyKeyVersions* sticky, AuditEvent& audit, const Response& answer) {
  if (!answer.key_version.empty()) audit.key_version = answer.key_version;
  if (sticky != nullptr) sticky->remember(audit, answer);
}

}  // namespace llmrt::serve
