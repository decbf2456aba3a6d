// A credential in memory that tells on the plugin. The llmrt_credential and its key bytes live in
// pages of their own, mapped only for them:
//  - during the call they are read-only (or read-write, on request), and the key ends right before
//    an inaccessible guard page, so reading past key.size (eg: treating it as a C string) faults;
//  - after the call, poison() overwrites them with a pattern and makes them inaccessible, so a
//    plugin that kept the pointer faults on its next access.
// A fault inside such pages is turned into a FAIL verdict that says what the plugin did (in an
// isolated child; in-process the fault is left to crash, eg: into gdb).
#ifndef LLMRT_CONFORMANCE_GUARDED_KEY_HPP
#define LLMRT_CONFORMANCE_GUARDED_KEY_HPP

#include <llmrt/plugin.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace llmrt::conformance {

class GuardedCredential {
 public:
  enum class Access { read_only, read_write };

  // `key`: non-empty printable ASCII, at most LLMRT_MAX_KEY_SIZE bytes; `session_token` (may be
  // empty): at most LLMRT_MAX_SESSION_TOKEN_SIZE bytes, placed just before the key. `who`: names
  // the model in fault reports, eg: "model 'echo'".
  GuardedCredential(std::string_view key, Access during_call, std::string who,
                    std::string_view session_token = {});
  ~GuardedCredential();
  GuardedCredential(const GuardedCredential&) = delete;
  GuardedCredential& operator=(const GuardedCredential&) = delete;

  const llmrt_credential* get() const { return credential_; }
  const std::string& key() const { return key_; }  // the tool's own copy, for comparisons

  // True while nothing in the credential changed (call only before poison()).
  bool intact() const;

  // After the call: overwrite struct and key with a pattern, then make the pages inaccessible.
  void poison();

 private:
  std::string key_;
  std::string token_;
  void* mapping_ = nullptr;
  std::size_t data_size_ = 0;  // the accessible pages, before the guard page
  std::size_t mapping_size_ = 0;
  llmrt_credential* credential_ = nullptr;
  int slot_ = -1;
};

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_GUARDED_KEY_HPP
