#include "credentials/credential_cache.hpp"

#include <llmrt/error.hpp>

#include <algorithm>
#include <exception>

#include "credentials/rfc3339.hpp"

namespace llmrt::credentials {
namespace {

std::string seconds_text(std::chrono::nanoseconds duration) {
  const auto whole = std::chrono::ceil<std::chrono::seconds>(duration).count();
  return std::to_string(std::max<long long>(whole, 0)) + " s";
}

}  // namespace

CredentialCache::CredentialCache(std::string source_name, Fetcher fetch, RefreshPolicy policy,
                                 ClockFunction clock, JitterFunction jitter, CacheHooks hooks)
    : source_name_(std::move(source_name)),
      fetch_(std::move(fetch)),
      policy_([&] {
        RefreshPolicy checked = policy;
        if (checked.mandatory < std::chrono::seconds(0)) checked.mandatory = {};
        if (checked.advisory < checked.mandatory) checked.advisory = checked.mandatory;
        if (checked.backoff_max < checked.backoff_initial) {
          checked.backoff_max = checked.backoff_initial;
        }
        return checked;
      }()),
      clock_(clock ? std::move(clock) : ClockFunction([] { return Credential::Clock::now(); })),
      jitter_(std::move(jitter)),
      hooks_(std::move(hooks)),
      random_(std::random_device{}()) {}

CredentialCache::Phase CredentialCache::phase(const Credential* credential, TimePoint now) const {
  if (credential == nullptr || credential->expired(now)) return Phase::unusable;
  if (!credential->expires_at) return Phase::fresh;  // it never expires: never refreshed
  if (now >= *credential->expires_at - policy_.mandatory) return Phase::mandatory;
  if (now >= *credential->expires_at - policy_.advisory) return Phase::advisory;
  return Phase::fresh;
}

std::shared_ptr<const Credential> CredentialCache::get() {
  const TimePoint now = clock_();
  std::shared_ptr<const Credential> current;
  TimePoint next_attempt;
  {
    std::lock_guard lock(state_mutex_);
    current = current_;
    next_attempt = next_attempt_;
  }
  switch (phase(current.get(), now)) {
    case Phase::fresh:
      return current;
    case Phase::advisory: {
      if (now < next_attempt) return current;  // backing off: the cached one is still good
      std::unique_lock gate(refresh_gate_, std::try_to_lock);
      if (!gate.owns_lock()) {
        if (hooks_.served_cached_during_refresh) hooks_.served_cached_during_refresh();
        return current;  // someone else is refreshing
      }
      return refresh_holding_gate(true);
    }
    case Phase::mandatory:
      if (now < next_attempt) return current;  // backing off, and it has not expired yet
      break;
    case Phase::unusable:
      break;
  }
  if (hooks_.before_waiting_for_refresh) hooks_.before_waiting_for_refresh();
  std::lock_guard gate(refresh_gate_);
  return refresh_holding_gate(false);
}

std::shared_ptr<const Credential> CredentialCache::refresh_holding_gate(bool advisory_caller) {
  // Re-check now that this caller holds the gate: the refresh it waited for may have done the job,
  // or failed and set a backoff that applies to this caller too.
  TimePoint now = clock_();
  {
    std::lock_guard lock(state_mutex_);
    const Phase found = phase(current_.get(), now);
    if (found == Phase::fresh || (found == Phase::advisory && !advisory_caller)) return current_;
    if (now < next_attempt_) {
      if (found != Phase::unusable) return current_;
      current_.reset();  // expired: let it go (it is wiped once the last call using it ends)
      throw_broken(last_error_, now, next_attempt_);
    }
  }

  FetchResult result;
  try {
    result = fetch_();
  } catch (const std::exception& error) {
    result = FetchResult::failure(error.what());
  } catch (...) {
    result = FetchResult::failure("an unknown failure");
  }
  now = clock_();
  if (result.credential && result.credential->expired(now)) {
    result = FetchResult::failure("it gave a credential that had already expired (at " +
                                  format_rfc3339(*result.credential->expires_at) + ")");
  } else if (!result.credential && result.error.empty()) {
    result.error = "it gave no credential";
  }

  std::lock_guard lock(state_mutex_);
  if (result.credential) {
    current_ = std::move(result.credential);  // the one it replaces is wiped once unused
    last_error_.clear();
    if (phase(current_.get(), now) == Phase::mandatory) {
      // Usable, but already due for a refresh: space the attempts out as after a failure.
      ++failures_;
      next_attempt_ = now + backoff_after(failures_);
    } else {
      failures_ = 0;
      next_attempt_ = {};
    }
    return current_;
  }
  ++failures_;
  next_attempt_ = now + backoff_after(failures_);
  last_error_ = result.error;
  if (result.fatal || phase(current_.get(), now) == Phase::unusable) current_.reset();
  if (current_) return current_;  // the last good credential, still valid
  throw_broken(last_error_, now, now);
}

std::chrono::nanoseconds CredentialCache::backoff_after(std::size_t failures) {
  using std::chrono::nanoseconds;
  nanoseconds delay = policy_.backoff_initial;
  for (std::size_t i = 1; i < failures && delay < policy_.backoff_max; ++i) delay *= 2;
  delay = std::min<nanoseconds>(delay, policy_.backoff_max);
  double jitter = jitter_ ? jitter_() : std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay / 2 + nanoseconds(static_cast<nanoseconds::rep>(
                         static_cast<double>((delay / 2).count()) * jitter));
}

void CredentialCache::throw_broken(const std::string& why, TimePoint now, TimePoint next) const {
  std::string message =
      source_name_ + " failed: " +
      (why.empty() ? std::string("its credential expired before it could be refreshed") : why);
  if (next > now) message += " (next attempt in " + seconds_text(next - now) + ")";
  throw Error(ErrorCode::credential_source, message);
}

bool CredentialCache::invalidate(const std::shared_ptr<const Credential>& rejected) {
  std::lock_guard lock(state_mutex_);
  if (!rejected || current_ != rejected) return false;
  current_.reset();
  next_attempt_ = {};  // the next call fetches at once; failures_ keeps growing the backoff
  return true;
}

std::shared_ptr<const Credential> CredentialCache::cached() const {
  std::lock_guard lock(state_mutex_);
  return current_;
}

TimePoint CredentialCache::next_attempt() const {
  std::lock_guard lock(state_mutex_);
  return next_attempt_;
}

std::size_t CredentialCache::consecutive_failures() const {
  std::lock_guard lock(state_mutex_);
  return failures_;
}

}  // namespace llmrt::credentials
