// The gateway's side of key versions (docs/keys.md#key-versions): what a call's Response says
// about its version goes into the audit event, and with `llmrt serve --key-version-sticky` each
// tenant session (a session key's key_id) keeps the version of a stored key its first call got,
// per model, so that one session never mixes versions.
#ifndef LLMRT_SERVE_STICKY_KEY_VERSIONS_HPP
#define LLMRT_SERVE_STICKY_KEY_VERSIONS_HPP

#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "audit_log.hpp"

namespace llmrt::serve {

// Thread-safe. Holds labels only, never keys. Bounded: past kMaxSessions remembered sessions the
// oldest half is forgotten (those sessions choose again, by weight).
class StickyKeyVersions {
 public:
  static constexpr std::size_t kMaxSessions = 100000;

  // Sets options.key_version to the version this session's calls of `model` stick to, if any.
  void apply(const AuditEvent& audit, PromptOptions& options) const;
  // Remembers the version `answer` used for this session and model (the first one only).
  void remember(const AuditEvent& audit, const Response& answer);

 private:
  using Session = std::tuple<std::string, std::string, std::string>;  // tenant, key_id, model
  mutable std::mutex mutex_;
  std::map<Session, std::pair<std::string, std::uint64_t>> versions_;  // label, order remembered
  std::uint64_t next_ = 0;
};

// Puts the version label `answer` used into `audit`, and (when `sticky` is not null) remembers it
// for the session. Call wherever the gateway reads a call's Response.
void note_key_version(StickyKeyVersions* sticky, AuditEvent& audit, const Response& answer);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_STICKY_KEY_VERSIONS_HPP
