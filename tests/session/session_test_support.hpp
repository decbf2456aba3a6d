// Helpers for the session-key and audit tests: an operator's files (master key, tenants file, deny
// list, audit log, warning log) in a temporary directory, gateways served in process with them
// (tests/serve's ServedGateway), and a watch over everything the test saw: at the end of each test
// no session key, master key or upstream key may appear in any response, log or error.
#ifndef LLMRT_TESTS_SESSION_SESSION_TEST_SUPPORT_HPP
#define LLMRT_TESTS_SESSION_SESSION_TEST_SUPPORT_HPP

#include <gtest/gtest.h>
#include <llmrt/keys_file.hpp>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit_log.hpp"
#include "gateway_test_support.hpp"
#include "run_cli.hpp"
#include "session_keys.hpp"

namespace llmrt::test::session_test {

using serve_test::bearer;
using serve_test::chat_body;
using serve_test::completion_content;
using serve_test::echo_reply;
using serve_test::error_of;
using serve_test::field;
using serve_test::lines_of;
using serve_test::random_hex;
using serve_test::read_file;
using serve_test::Reply;
using serve_test::ServedGateway;

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Replaces `path` with `text` through a rename (a new inode), as editors and config tools do.
inline void replace_file(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temp = path.string() + ".new";
  write_text(temp, text);
  std::filesystem::rename(temp, path);
}

// The audit lines of `path`, parsed; adds a failure for every malformed one.
inline std::vector<serve::AuditEvent> audit_events(const std::filesystem::path& path) {
  std::vector<serve::AuditEvent> events;
  for (const std::string& line : lines_of(read_file(path))) {
    std::string why;
    std::optional<serve::AuditEvent> event = serve::parse_audit_line(line, why);
    if (!event) {
      ADD_FAILURE() << "malformed audit line (" << why << "): " << line;
      continue;
    }
    events.push_back(std::move(*event));
  }
  return events;
}

// The audit log at `path` once it has at least `count` lines (streamed calls are logged when
// their response is done, which can be just after the client has read it), or after a few seconds.
inline std::vector<serve::AuditEvent> audit_events_with(const std::filesystem::path& path,
                                                        std::size_t count) {
  serve_test::eventually([&] { return lines_of(read_file(path)).size() >= count; },
                         std::chrono::seconds(serve_test::kThreadSanitizer ? 20 : 5));
  return audit_events(path);
}

// A test with an operator's set-up: tenants "acme" and "beta" with upstream keys for echo (and
// "gamma" with none), a master key, an (empty) deny list, an audit log and a warning log.
class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    master_key_path_ = dir_.path() / "master.key";
    serve::create_secret_key_file(master_key_path_, "master key");
    watch_secret(trimmed(read_file(master_key_path_)));
    tenants_path_ = dir_.path() / "tenants.json";
    write_text(tenants_path_, R"({
  "// Note": "tenant -> model key name -> keys-file entry",
  "tenants": {
    "acme": {"keys": {"echo": "acme-echo", "openai": "acme-openai"}},
    "beta": {"keys": {"echo": "beta-echo"}},
    "gamma": {"keys": {"openai": "gamma-openai"}},
    "lost": {"keys": {"echo": "lost-echo"}}
  }
})");
    deny_list_path_ = dir_.path() / "deny.list";
    write_text(deny_list_path_, "# revoked session keys\n");
    audit_path_ = dir_.path() / "audit.log";
    warnings_path_ = dir_.path() / "warnings.log";
    warnings_ = std::fopen(warnings_path_.c_str(), "w");
    upstream_["acme-echo"] = "sk-acme-upstream-" + random_hex(12);
    upstream_["beta-echo"] = "sk-beta-upstream-" + random_hex(12);
    upstream_["acme-openai"] = "sk-acme-openai-" + random_hex(12);
    for (const auto& [name, key] : upstream_) watch_secret(key);
  }

  ~SessionTest() override {
    gateways_.clear();
    if (warnings_ != nullptr) std::fclose(warnings_);
  }

  // Everything the test produced must be free of every secret it handled.
  void TearDown() override {
    for (const auto& gateway : gateways_) see(gateway->access_log_text());
    if (warnings_ != nullptr) std::fflush(warnings_);
    see(read_file(warnings_path_));
    for (const auto& path : std::filesystem::directory_iterator(dir_.path())) {
      if (path.path().filename().string().find("audit") != std::string::npos) {
        see(read_file(path.path()));
      }
    }
    std::lock_guard lock(mutex_);
    ASSERT_FALSE(secrets_.empty());
    for (const std::string& secret : secrets_) {
      const std::size_t at = seen_.find(secret);
      EXPECT_EQ(at, std::string::npos)
          << "a secret (" << secret.size() << " bytes) appears in a response, log or error: "
          << (at == std::string::npos ? std::string()
                                      : seen_.substr(at > 200 ? at - 200 : 0, 200) + "[SECRET]");
    }
  }

  static std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }

  // A secret that must appear in nothing the test saw.
  void watch_secret(const std::string& secret) {
    std::lock_guard lock(mutex_);
    secrets_.push_back(secret);
  }
  // Something the test saw: a response, a log, a command's output.
  void see(const std::string& text) {
    std::lock_guard lock(mutex_);
    seen_ += text;
    seen_ += '\n';
  }
  void see(const Reply& reply) {
    std::string text = reply.body + "\n" + reply.transport_error + "\n";
    for (const auto& [name, value] : reply.headers) text += name + ": " + value + "\n";
    see(text);
  }
  void see(const CliResult& result) { see(result.out + "\n" + result.err); }

  // A gateway with session keys on (and `tweak` applied after), its keys file holding the
  // tenants' upstream keys.
  ServedGateway& start_gateway(const ServedGateway::Tweak& tweak = {},
                               std::optional<std::filesystem::path> master = std::nullopt) {
    const std::filesystem::path master_path = master.value_or(master_key_path_);
    auto gateway = std::make_unique<ServedGateway>([&](serve::GatewayConfig& config) {
      config.master_key_file = master_path;
      config.tenants_file = tenants_path_;
      config.deny_list_file = deny_list_path_;
      config.audit_log_file = audit_path_;
      config.warning_log = warnings_;
      config.clock = [this] { return now_.load(); };
      if (tweak) tweak(config);
    });
    const KeysFile keys(gateway->runtime().keys_file_path());
    for (const auto& [name, key] : upstream_) keys.set(name, Key(key));
    gateways_.push_back(std::move(gateway));
    return *gateways_.back();
  }

  // A session key issued with `master` (default: the master key) at `issued_at` (default: the
  // gateways' clock). Watched as a secret, its MAC too.
  std::string issue(const std::string& tenant, std::int64_t ttl = 3600,
                    std::optional<std::int64_t> issued_at = std::nullopt,
                    std::optional<std::filesystem::path> master = std::nullopt) {
    const serve::SecretBytes secret =
        serve::read_secret_key_file(master.value_or(master_key_path_), "master key");
    const Key key = serve::SessionKeys(secret).issue(tenant, ttl, issued_at.value_or(now_.load()));
    std::string text(key.reveal());
    watch_secret(text);
    watch_secret(text.substr(text.rfind('.') + 1));
    return text;
  }

  // The keyed fingerprint the gateway logs for `key` (audit key derived from the master key).
  std::string audit_fingerprint(const std::string& key,
                                std::optional<std::filesystem::path> master = std::nullopt) const {
    const serve::SecretBytes secret =
        serve::read_secret_key_file(master.value_or(master_key_path_), "master key");
    return serve::KeyFingerprinter(serve::derive_subkey(secret, "llmrt audit")).fingerprint(key);
  }

  // One chat request, seen by the watch.
  Reply chat(const ServedGateway& gateway, const std::optional<std::string>& key,
             const std::string& prompt, bool stream = false, const std::string& model = "echo") {
    auto client = gateway.client();
    const Reply reply = serve_test::post_chat(*client, chat_body(model, prompt, stream),
                                              key ? bearer(*key) : httplib::Headers{});
    see(reply);
    return reply;
  }

  std::string upstream(const std::string& entry) const { return upstream_.at(entry); }

  TempDir dir_;
  std::filesystem::path master_key_path_;
  std::filesystem::path tenants_path_;
  std::filesystem::path deny_list_path_;
  std::filesystem::path audit_path_;
  std::filesystem::path warnings_path_;
  std::FILE* warnings_ = nullptr;
  std::atomic<std::int64_t> now_{unix_now()};
  std::map<std::string, std::string> upstream_;  // keys-file entry -> upstream key
  std::vector<std::unique_ptr<ServedGateway>> gateways_;

 private:
  std::mutex mutex_;
  std::vector<std::string> secrets_;
  std::string seen_;
};

}  // namespace llmrt::test::session_test

#endif  // LLMRT_TESTS_SESSION_SESSION_TEST_SUPPORT_HPP
