// A cached credential that refreshes itself before it expires (the credential command's cache).
// Modelled on the AWS SDK's CredentialsCaching: an advisory window in which one caller refreshes
// while the others keep the cached credential, a mandatory window in which callers wait for a
// single in-flight refresh, the last good credential served through recoverable failures, and
// jittered exponential backoff between failed attempts. docs/keys.md#refresh-behaviour describes
// the same rules for users.
#ifndef LLMRT_CREDENTIALS_CREDENTIAL_CACHE_HPP
#define LLMRT_CREDENTIALS_CREDENTIAL_CACHE_HPP

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "credential.hpp"

namespace llmrt::credentials {

using TimePoint = Credential::Clock::time_point;

// The time now; the cache reads it through this, so that tests can script a timeline.
using ClockFunction = std::function<TimePoint()>;
// A number uniformly distributed in [0, 1), used to spread retries (tests make it fixed).
using JitterFunction = std::function<double()>;

struct RefreshPolicy {
  // Refresh this long before expires_at: one caller refreshes, the others keep the cached one.
  std::chrono::seconds advisory{300};
  // From this long before expires_at on, callers wait for the refresh (must be <= advisory).
  std::chrono::seconds mandatory{60};
  // After the n-th failure in a row, no attempt for d/2 + jitter * d/2 where
  // d = min(backoff_max, backoff_initial * 2^(n-1)).
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
};

// What one fetch from the source gave.
struct FetchResult {
  std::shared_ptr<const Credential> credential;  // set on success
  std::string error;   // on failure: why, one line, never containing a key
  bool fatal = false;  // the source cannot work as configured (eg: the command does not exist)

  static FetchResult success(Credential credential) {
    return {std::make_shared<const Credential>(std::move(credential)), {}, false};
  }
  static FetchResult failure(std::string why, bool fatal = false) {
    return {nullptr, std::move(why), fatal};
  }
};

using Fetcher = std::function<FetchResult()>;

// Test-only hooks at the points where the cache's callers race. Empty by default.
struct CacheHooks {
  // A caller is about to block until the refresh in flight (if any) is done.
  std::function<void()> before_waiting_for_refresh;
  // A caller in the advisory window found a refresh in flight and takes the cached credential.
  std::function<void()> served_cached_during_refresh;
};

// Threading: every member may be called from any number of threads at once. The fetcher runs on
// the thread of the caller that refreshes, with no lock of the cache's state held (only the refresh
// gate), and is never run twice at the same time.
class CredentialCache {
 public:
  // `source_name` names the source in messages, eg: "the credential command for 'openai'
  // (/usr/local/bin/get-key)".
  CredentialCache(std::string source_name, Fetcher fetch, RefreshPolicy policy,
                  ClockFunction clock = {}, JitterFunction jitter = {}, CacheHooks hooks = {});
  CredentialCache(const CredentialCache&) = delete;
  CredentialCache& operator=(const CredentialCache&) = delete;

  // A credential that has not expired, refreshing first when the rules above say so. Throws
  // Error(credential_source) naming the source when there is none to give (the source is broken).
  std::shared_ptr<const Credential> get();

  // The provider refused `rejected`: drop it if it is still the cached credential, so that the next
  // call fetches a new one. A rejection of a credential that has since been replaced is ignored, so
  // a stale rejection never throws away a fresh credential. Returns whether it dropped it.
  bool invalidate(const std::shared_ptr<const Credential>& rejected);

  const std::string& source_name() const { return source_name_; }

  // For tests and diagnostics.
  std::shared_ptr<const Credential> cached() const;
  TimePoint next_attempt() const;
  std::size_t consecutive_failures() const;

 private:
  enum class Phase { fresh, advisory, mandatory, unusable };
  Phase phase(const Credential* credential, TimePoint now) const;
  std::shared_ptr<const Credential> refresh_holding_gate(bool advisory_caller);
  std::chrono::nanoseconds backoff_after(std::size_t failures);
  [[noreturn]] void throw_broken(const std::string& why, TimePoint now, TimePoint next) const;

  const std::string source_name_;
  const Fetcher fetch_;
  const RefreshPolicy policy_;
  const ClockFunction clock_;
  const JitterFunction jitter_;
  const CacheHooks hooks_;

  // Single-flight: held by the one caller that runs the fetcher.
  std::mutex refresh_gate_;

  // The state; held only briefly, never while fetching.
  mutable std::mutex state_mutex_;
  std::shared_ptr<const Credential> current_;
  TimePoint next_attempt_{};  // no attempt before this (backoff); the epoch: any time
  std::size_t failures_ = 0;  // failed refreshes in a row
  std::string last_error_;
  std::minstd_rand random_;  // for the default jitter, under state_mutex_
};

}  // namespace llmrt::credentials

#endif  // LLMRT_CREDENTIALS_CREDENTIAL_CACHE_HPP
