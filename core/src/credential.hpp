// A key with what may come with it: a short-lived session token and an expiry (a composite
// credential). What the resolver hands to dispatch, and what the ABI's llmrt_credential carries.
#ifndef LLMRT_CREDENTIAL_HPP
#define LLMRT_CREDENTIAL_HPP

#include <llmrt/key.hpp>

#include <chrono>
#include <optional>

namespace llmrt {

struct Credential {
  using Clock = std::chrono::system_clock;

  Key key;
  Key session_token;                            // empty when there is none
  std::optional<Clock::time_point> expires_at;  // none: it does not expire

  bool expired(Clock::time_point now) const { return expires_at && now >= *expires_at; }
};

}  // namespace llmrt

#endif  // LLMRT_CREDENTIAL_HPP
