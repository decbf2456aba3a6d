// The credential cache on scripted timelines: a fake clock, a fixed jitter and a fetcher that
// answers from a script and counts its calls. Each test is one timeline from docs/keys.md's
// "Refresh behaviour": valid, advisory, mandatory, expired, recoverable failure with backoff and
// jitter, broken, a credential that arrives expired, stale and current invalidation, and 100
// threads at the mandatory boundary.
#include <gtest/gtest.h>
#include <llmrt/error.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "credentials/credential_cache.hpp"
#include "credentials_test_support.hpp"

namespace llmrt::credentials {
namespace {

using namespace std::chrono_literals;
using test::FakeClock;

const std::string kKeyA = test::secret("sk-cache-a-1111");
const std::string kKeyB = test::secret("sk-cache-b-2222");
const std::string kKeyC = test::secret("sk-cache-c-3333");

FetchResult issued(const std::string& key, std::optional<TimePoint> expires_at) {
  return FetchResult::success(Credential{Key(key), {}, expires_at});
}

// A source that answers from a script, one entry per fetch, and counts fetches. An optional gate
// makes a fetch wait until the test opens it.
class ScriptedSource {
 public:
  void then(FetchResult result) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(result));
  }
  // The next fetches block (after counting themselves) until open() is called.
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }
  // Waits until a fetch is blocked in hold().
  void wait_until_holding() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ > 0; });
  }
  int fetches() const { return fetches_.load(); }

  Fetcher fetcher() {
    return [this] {
      ++fetches_;
      std::unique_lock lock(mutex_);
      ++waiting_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !held_; });
      --waiting_;
      if (script_.empty()) return FetchResult::failure("the script ran out");
      FetchResult next = std::move(script_.front());
      script_.pop_front();
      return next;
    };
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<FetchResult> script_;
  bool held_ = false;
  int waiting_ = 0;
  std::atomic<int> fetches_{0};
};

RefreshPolicy policy() {
  RefreshPolicy policy;
  policy.advisory = 300s;
  policy.mandatory = 60s;
  policy.backoff_initial = 1000ms;
  policy.backoff_max = 8000ms;
  return policy;
}

class CredentialCacheTimeline : public ::testing::Test {
 protected:
  CredentialCache& cache(CacheHooks hooks = {}, double jitter = 0.5) {
    cache_.emplace(
        "the credential command for 'test' (/bin/get-key)", source_.fetcher(), policy(),
        clock_.function(), [jitter] { return jitter; }, std::move(hooks));
    return *cache_;
  }

  // The first credential, kKeyA, expiring one hour after the start; fetched by a first get().
  std::shared_ptr<const Credential> start_with_a(CredentialCache& cache) {
    source_.then(issued(kKeyA, expiry_a_));
    auto first = cache.get();
    EXPECT_EQ(first->key.reveal(), kKeyA);
    EXPECT_EQ(source_.fetches(), 1);
    return first;
  }

  FakeClock clock_;
  ScriptedSource source_;
  std::optional<CredentialCache> cache_;
  const TimePoint expiry_a_ = FakeClock::start() + 1h;
  const TimePoint expiry_b_ = FakeClock::start() + 2h;
};

TEST_F(CredentialCacheTimeline, ValidCredentialIsServedWithoutRefresh) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  for (auto at : {0s, 600s, 3299s}) {  // up to one second before the advisory window
    clock_.set(FakeClock::start() + at);
    EXPECT_EQ(c.get(), a) << "at +" << at.count() << " s";
  }
  EXPECT_EQ(source_.fetches(), 1);
}

TEST_F(CredentialCacheTimeline, CredentialWithoutExpiryIsNeverRefreshed) {
  CredentialCache& c = cache();
  source_.then(issued(kKeyA, std::nullopt));
  const auto a = c.get();
  clock_.advance(24h * 365);
  EXPECT_EQ(c.get(), a);
  EXPECT_EQ(source_.fetches(), 1);
}

TEST_F(CredentialCacheTimeline, AdvisoryWindowOneCallerRefreshesTheOthersGetTheCachedOne) {
  std::atomic<int> served_cached{0};
  CredentialCache& c = cache({.served_cached_during_refresh = [&] { ++served_cached; }});
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 200s);  // advisory: 300 s before, not yet mandatory (60 s)

  source_.then(issued(kKeyB, expiry_b_));
  source_.hold();
  std::shared_ptr<const Credential> refreshed;
  std::thread refresher([&] { refreshed = c.get(); });
  source_.wait_until_holding();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.get(), a);  // not blocked: the cached one at once
  EXPECT_EQ(served_cached.load(), 10);
  source_.open();
  refresher.join();

  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->key.reveal(), kKeyB);
  EXPECT_EQ(c.get(), refreshed);
  EXPECT_EQ(source_.fetches(), 2);
  // The caller that started with `a` still holds it, intact, though the cache has moved on.
  EXPECT_EQ(a->key.reveal(), kKeyA);
}

TEST_F(CredentialCacheTimeline, MandatoryWindowCallersWaitForOneRefresh) {
  std::atomic<int> waiting{0};
  CredentialCache& c = cache({.before_waiting_for_refresh = [&] { ++waiting; }});
  start_with_a(c);
  clock_.set(expiry_a_ - 30s);  // mandatory: less than 60 s left

  source_.then(issued(kKeyB, expiry_b_));
  source_.hold();
  constexpr int kCallers = 5;
  std::vector<std::shared_ptr<const Credential>> got(kCallers);
  std::atomic<int> returned{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      got[i] = c.get();
      ++returned;
    });
  }
  source_.wait_until_holding();
  while (waiting.load() < kCallers) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(returned.load(), 0) << "a caller did not wait for the refresh";
  source_.open();
  for (auto& caller : callers) caller.join();

  for (const auto& credential : got) {
    ASSERT_TRUE(credential);
    EXPECT_EQ(credential->key.reveal(), kKeyB);
  }
  EXPECT_EQ(source_.fetches(), 2);  // the first credential, and one refresh for all five
}

TEST_F(CredentialCacheTimeline, ExpiredCredentialIsNeverServed) {
  CredentialCache& c = cache();
  start_with_a(c);
  clock_.set(expiry_a_);  // expired exactly now
  source_.then(FetchResult::failure("it exited with status 1"));
  const Error error = test::expect_error([&] { c.get(); });
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "/bin/get-key")) << error.what();
  EXPECT_TRUE(test::contains(error.what(), "status 1")) << error.what();
  EXPECT_EQ(c.cached(), nullptr);  // let go of, to be wiped

  clock_.advance(1h);  // past any backoff
  source_.then(issued(kKeyB, clock_.now() + 1h));
  EXPECT_EQ(c.get()->key.reveal(), kKeyB);
}

TEST_F(CredentialCacheTimeline, RecoverableFailureServesTheLastGoodOneAndBacksOff) {
  CredentialCache& c = cache({}, 0.5);  // jitter 0.5: each wait is 3/4 of the nominal delay
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 30s);  // mandatory

  source_.then(FetchResult::failure("it did not finish within 5000 ms and was killed"));
  EXPECT_EQ(c.get(), a);  // the refresh failed: the last good one, still valid
  EXPECT_EQ(source_.fetches(), 2);
  EXPECT_EQ(c.consecutive_failures(), 1u);
  EXPECT_EQ(c.next_attempt(), clock_.now() + 750ms);  // 1 s * (1/2 + 0.5/2)

  clock_.advance(749ms);
  EXPECT_EQ(c.get(), a);
  EXPECT_EQ(source_.fetches(), 2) << "an attempt during the backoff";

  clock_.advance(1ms);
  source_.then(FetchResult::failure("it exited with status 2"));
  EXPECT_EQ(c.get(), a);
  EXPECT_EQ(source_.fetches(), 3);
  EXPECT_EQ(c.next_attempt(), clock_.now() + 1500ms);  // doubled: 2 s * 3/4

  clock_.advance(1500ms);
  source_.then(issued(kKeyB, expiry_b_));
  EXPECT_EQ(c.get()->key.reveal(), kKeyB);
  EXPECT_EQ(c.consecutive_failures(), 0u);
}

TEST_F(CredentialCacheTimeline, BackoffIsJitteredAndCapped) {
  // delay(n) = min(8 s, 1 s * 2^(n-1)); wait = delay/2 + jitter * delay/2.
  for (const double jitter : {0.0, 0.25, 0.999}) {
    ScriptedSource source;
    FakeClock clock;
    CredentialCache c("the test source", source.fetcher(), policy(), clock.function(),
                      [jitter] { return jitter; });
    std::chrono::nanoseconds nominal = 1s;
    for (int failure = 1; failure <= 6; ++failure) {
      source.then(FetchResult::failure("no"));
      test::expect_error([&] { c.get(); });
      const auto wait = c.next_attempt() - clock.now();
      const auto expected = nominal / 2 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                              static_cast<double>((nominal / 2).count()) * jitter));
      EXPECT_EQ(wait, expected) << "failure " << failure << ", jitter " << jitter;
      nominal = std::min<std::chrono::nanoseconds>(nominal * 2, 8s);
      clock.set(c.next_attempt());
    }
    EXPECT_EQ(source.fetches(), 6);
  }
}

TEST_F(CredentialCacheTimeline, BrokenWithoutAUsableCredentialAndNoAttemptDuringTheBackoff) {
  CredentialCache& c = cache();
  source_.then(FetchResult::failure("it exited with status 1 (stderr: no such account)"));
  const Error first = test::expect_error([&] { c.get(); });
  EXPECT_EQ(first.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(first.what(), "the credential command for 'test' (/bin/get-key)"))
      << first.what();
  EXPECT_TRUE(test::contains(first.what(), "no such account")) << first.what();

  const Error again = test::expect_error([&] { c.get(); });  // within the backoff
  EXPECT_EQ(source_.fetches(), 1);
  EXPECT_TRUE(test::contains(again.what(), "no such account")) << again.what();
  EXPECT_TRUE(test::contains(again.what(), "next attempt in 1 s")) << again.what();

  clock_.set(c.next_attempt());
  source_.then(issued(kKeyA, expiry_a_));
  EXPECT_EQ(c.get()->key.reveal(), kKeyA);
  EXPECT_EQ(source_.fetches(), 2);
}

TEST_F(CredentialCacheTimeline, FatalFailureDropsTheCachedCredential) {
  CredentialCache& c = cache();
  start_with_a(c);
  clock_.set(expiry_a_ - 200s);  // advisory: the cached one is still good
  source_.then(FetchResult::failure("it could not be started: No such file or directory", true));
  const Error error = test::expect_error([&] { c.get(); });
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "could not be started")) << error.what();
  EXPECT_EQ(c.cached(), nullptr);
  test::expect_error([&] { c.get(); });  // broken until an attempt succeeds
  EXPECT_EQ(source_.fetches(), 2);
}

TEST_F(CredentialCacheTimeline, LastGoodCredentialIsDroppedOnceItExpires) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 500ms);
  source_.then(FetchResult::failure("it exited with status 1"));
  EXPECT_EQ(c.get(), a);
  clock_.set(expiry_a_);  // still within the backoff (750 ms), and `a` has now expired
  const Error error = test::expect_error([&] { c.get(); });
  EXPECT_EQ(error.code(), ErrorCode::credential_source);
  EXPECT_TRUE(test::contains(error.what(), "status 1")) << error.what();
  EXPECT_EQ(source_.fetches(), 2);
}

TEST_F(CredentialCacheTimeline, CredentialArrivingAlreadyExpiredIsAFailedRefresh) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 30s);
  source_.then(issued(kKeyB, clock_.now() - 1s));
  EXPECT_EQ(c.get(), a);  // the last good one
  EXPECT_EQ(c.consecutive_failures(), 1u);

  // With nothing good left, it is broken, and says why.
  clock_.set(expiry_a_ + 1h);
  source_.then(issued(kKeyC, clock_.now() - 1s));
  const Error error = test::expect_error([&] { c.get(); });
  EXPECT_TRUE(test::contains(error.what(), "already expired")) << error.what();
  EXPECT_EQ(c.cached(), nullptr);
}

TEST_F(CredentialCacheTimeline, StaleInvalidationIsIgnored) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 30s);
  source_.then(issued(kKeyB, expiry_b_));
  const auto b = c.get();
  ASSERT_EQ(b->key.reveal(), kKeyB);

  // A call that started with `a` is refused after the cache moved on to `b`.
  EXPECT_FALSE(c.invalidate(a));
  EXPECT_EQ(c.get(), b);
  EXPECT_EQ(source_.fetches(), 2);
  // Even a credential with the same key is not `b` unless it is the same object.
  EXPECT_FALSE(c.invalidate(std::make_shared<const Credential>(Credential{Key(kKeyB), {}, {}})));
  EXPECT_EQ(c.get(), b);
}

TEST_F(CredentialCacheTimeline, CurrentInvalidationIsHonoured) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  EXPECT_TRUE(c.invalidate(a));
  EXPECT_EQ(c.cached(), nullptr);
  source_.then(issued(kKeyB, expiry_b_));
  EXPECT_EQ(c.get()->key.reveal(), kKeyB);
  EXPECT_EQ(source_.fetches(), 2);
  EXPECT_EQ(a->key.reveal(), kKeyA);  // the refused call's own copy is untouched until it ends
}

TEST_F(CredentialCacheTimeline, InvalidationSkipsTheBackoff) {
  CredentialCache& c = cache();
  const auto a = start_with_a(c);
  clock_.set(expiry_a_ - 30s);
  source_.then(FetchResult::failure("it exited with status 1"));
  EXPECT_EQ(c.get(), a);  // backing off now
  EXPECT_TRUE(c.invalidate(a));
  source_.then(issued(kKeyB, expiry_b_));
  EXPECT_EQ(c.get()->key.reveal(), kKeyB);  // fetched at once
  EXPECT_EQ(source_.fetches(), 3);
}

TEST_F(CredentialCacheTimeline, HundredThreadsAtTheMandatoryBoundaryCauseOneRefresh) {
  constexpr int kThreads = 100;
  std::atomic<int> waiting{0};
  CredentialCache& c = cache({.before_waiting_for_refresh = [&] { ++waiting; }});
  start_with_a(c);
  clock_.set(expiry_a_ - 60s);  // exactly the mandatory boundary

  // The refresh returns only once every thread is waiting for it, so none can come late.
  source_.then(issued(kKeyB, expiry_b_));
  source_.hold();
  std::latch start(kThreads);
  std::vector<std::shared_ptr<const Credential>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      got[i] = c.get();
    });
  }
  source_.wait_until_holding();
  while (waiting.load() < kThreads) std::this_thread::yield();
  source_.open();
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(source_.fetches(), 2);  // the first credential, and exactly one refresh
  for (const auto& credential : got) {
    ASSERT_TRUE(credential);
    EXPECT_EQ(credential->key.reveal(), kKeyB);
  }
}

}  // namespace
}  // namespace llmrt::credentials
