// The gateway's files that others could have changed (deny list, tenants file, master key, audit
// log): anything but the caller's own regular file is refused, never read through a symbolic link
// and never waited on (a FIFO), and a deny list that turns bad while serving fails closed: every
// session key gets 503 and the operator a log line, never a 200. Tests run as root, so "another
// user" is uid 65534 (nobody), given with chown. FIFOs here are never named "*audit*": the
// fixture reads every such file at the end.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include "deny_list.hpp"
#include "session_test_support.hpp"

namespace llmrt::test::session_test {
namespace {

constexpr uid_t kOtherUser = 65534;

class UntrustedFiles : public SessionTest {
 protected:
  // The message of the Error a gateway with `tweak` applied refuses to start with.
  std::string refused(const std::function<void(serve::GatewayConfig&)>& tweak) {
    const FakeEnvironment environment;
    const Runtime runtime(isolated_config(dir_.path() / "user", environment));
    serve::GatewayConfig config;
    config.port = 0;
    config.access_log = nullptr;
    config.warning_log = warnings_;
    config.master_key_file = master_key_path_;
    config.tenants_file = tenants_path_;
    tweak(config);
    try {
      serve::Gateway gateway(runtime, config);
    } catch (const Error& error) {
      see(error.what());
      return error.what();
    }
    ADD_FAILURE() << "the gateway started";
    return {};
  }

  std::string warnings() {
    std::fflush(warnings_);
    return read_file(warnings_path_);
  }

  // Replaces the deny list with something else, through a rename or in place.
  void break_deny_list(const std::string& how) {
    std::filesystem::remove(deny_list_path_);
    if (how == "directory") {
      std::filesystem::create_directory(deny_list_path_);
    } else if (how == "fifo") {
      ASSERT_EQ(::mkfifo(deny_list_path_.c_str(), 0600), 0);
    } else if (how == "symlink") {
      const std::filesystem::path target = dir_.path() / "elsewhere.list";
      write_text(target, "# nothing revoked here\n");
      std::filesystem::create_symlink(target, deny_list_path_);
    } else if (how == "world-writable") {
      write_text(deny_list_path_, "# nothing revoked here\n");
      ASSERT_EQ(::chmod(deny_list_path_.c_str(), 0666), 0);
    } else if (how == "foreign") {
      write_text(deny_list_path_, "# nothing revoked here\n");
      ASSERT_EQ(::chown(deny_list_path_.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
    } else if (how == "too large") {
      write_text(deny_list_path_, std::string(serve::kMaxDenyListSize + 1, '#'));
    }
  }
};

// Before: a deny list replaced by a directory let the revoked key through (200), and a FIFO made
// every session-key request hang.
TEST_F(UntrustedFiles, ADenyListThatTurnsBadFailsClosedWith503UntilFixed) {
  ServedGateway& gateway = start_gateway();
  const std::string revoked = issue("acme");
  const std::string revoked_id = revoked.substr(revoked.size() - 43 - 17, 16);
  const std::string fine = issue("acme");
  replace_file(deny_list_path_, revoked_id + "\n");
  EXPECT_EQ(chat(gateway, revoked, "x").status, 401);
  for (const std::string how :
       {"directory", "fifo", "symlink", "world-writable", "foreign", "too large"}) {
    SCOPED_TRACE(how);
    break_deny_list(how);
    const Reply denied = chat(gateway, revoked, "x");
    EXPECT_EQ(denied.status, 503) << denied;
    EXPECT_EQ(field(error_of(denied), "code"), "deny_list_unavailable");
    EXPECT_EQ(chat(gateway, fine, "x").status, 503) << "fail closed: every session key";
    EXPECT_NE(warnings().find("every session key is refused (HTTP 503) until it is fixed"),
              std::string::npos)
        << warnings();
    std::filesystem::remove_all(deny_list_path_);
    write_text(deny_list_path_, revoked_id + "\n");
    ::chmod(deny_list_path_.c_str(), 0600);
    EXPECT_EQ(chat(gateway, revoked, "x").status, 401);
    EXPECT_EQ(chat(gateway, fine, "x").status, 200);
  }
  EXPECT_NE(warnings().find("is usable again"), std::string::npos);
}

TEST_F(UntrustedFiles, AtStartEveryFileMustBeTheCallersOwnRegularFile) {
  const std::filesystem::path fifo = dir_.path() / "some.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A FIFO is refused without waiting for a writer (or a reader).
  for (const auto& [what, set] :
       std::vector<std::pair<std::string, std::function<void(serve::GatewayConfig&)>>>{
           {"deny list", [&](serve::GatewayConfig& c) { c.deny_list_file = fifo; }},
           {"tenants file", [&](serve::GatewayConfig& c) { c.tenants_file = fifo; }},
           {"master key", [&](serve::GatewayConfig& c) { c.master_key_file = fifo; }},
           {"audit log", [&](serve::GatewayConfig& c) { c.audit_log_file = fifo; }}}) {
    const std::string message = refused(set);
    EXPECT_NE(message.find("FIFO"), std::string::npos) << what << ": " << message;
  }

  // Owned by another user.
  ASSERT_EQ(::chown(tenants_path_.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
  std::string message = refused([](serve::GatewayConfig&) {});
  EXPECT_NE(message.find("tenants file"), std::string::npos) << message;
  EXPECT_NE(message.find("owned by uid 65534"), std::string::npos) << message;
  ASSERT_EQ(::chown(tenants_path_.c_str(), ::geteuid(), static_cast<gid_t>(-1)), 0);
  ASSERT_EQ(::chmod(tenants_path_.c_str(), 0666), 0);
  message = refused([](serve::GatewayConfig&) {});
  EXPECT_NE(message.find("too open"), std::string::npos) << message;
  EXPECT_NE(message.find("chmod go-w"), std::string::npos) << message;
  ASSERT_EQ(::chmod(tenants_path_.c_str(), 0644), 0);

  ASSERT_EQ(::chown(master_key_path_.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
  message = refused([](serve::GatewayConfig&) {});
  EXPECT_NE(message.find("master key file"), std::string::npos) << message;
  EXPECT_NE(message.find("owned by uid 65534"), std::string::npos) << message;
  ASSERT_EQ(::chown(master_key_path_.c_str(), ::geteuid(), static_cast<gid_t>(-1)), 0);

  const std::filesystem::path audit = dir_.path() / "foreign-audit.log";
  write_text(audit, "");
  ASSERT_EQ(::chown(audit.c_str(), kOtherUser, static_cast<gid_t>(-1)), 0);
  message = refused([&](serve::GatewayConfig& c) { c.audit_log_file = audit; });
  EXPECT_NE(message.find("owned by uid 65534"), std::string::npos) << message;
}

// Before: after a short write and an error, half a line stayed in the log, the next event was
// glued to it (and lost to every reader), and later failures were never reported again.
TEST_F(UntrustedFiles, AuditLinesAreWholeOrNothingAndEachRunOfFailuresIsReported) {
  const std::filesystem::path path = dir_.path() / "limited-audit.log";
  serve::AuditLog log(path, warnings_);
  serve::AuditEvent event;
  event.request_id = "req_first";
  event.model = "echo";
  event.status = 200;
  event.outcome = "ok";
  log.write(event);
  const std::size_t size = std::filesystem::file_size(path);

  // A file size limit a little past the end: the next line can only be written in part.
  struct sigaction ignore {};
  struct sigaction previous_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous_action), 0);
  rlimit previous_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &previous_limit), 0);
  const auto limit_to = [&](rlim_t bytes) {
    rlimit limit = previous_limit;
    limit.rlim_cur = bytes;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  };
  limit_to(size + 40);
  event.request_id = "req_cut_short";
  log.write(event);
  limit_to(previous_limit.rlim_cur);
  EXPECT_EQ(std::filesystem::file_size(path), size) << "a partial line stayed";

  event.request_id = "req_after";
  log.write(event);
  limit_to(std::filesystem::file_size(path) + 10);
  event.request_id = "req_fails_again";
  log.write(event);
  limit_to(previous_limit.rlim_cur);
  ::sigaction(SIGXFSZ, &previous_action, nullptr);

  const std::vector<serve::AuditEvent> events = audit_events(path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].request_id, "req_first");
  EXPECT_EQ(events[1].request_id, "req_after");
  const std::string text = warnings();
  const std::size_t first = text.find("cannot write to the audit log");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find("the partial line was removed"), std::string::npos) << text;
  EXPECT_NE(text.find("cannot write to the audit log", first + 1), std::string::npos)
      << "the second run of failures was not reported: " << text;
}

TEST(SessionKeyIssue, AnExpiryPastTwelveDigitsIsAClearErrorNotAnOverflow) {
  const serve::SessionKeys keys(serve::SecretBytes::random());
  // Before: now + ttl with 13 or more digits was written past a stack buffer (ASan: WRITE of 43).
  for (const std::int64_t now : {std::int64_t{999'999'999'999}, std::int64_t{1'000'000'000'000},
                                 std::numeric_limits<std::int64_t>::max(), std::int64_t{-1}}) {
    try {
      (void)keys.issue("acme", 3600, now);
      ADD_FAILURE() << "issued at " << now;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::usage);
      EXPECT_NE(std::string(error.what()).find("expiry must fall between"), std::string::npos)
          << error.what();
    }
  }
  const Key latest = keys.issue("acme", 1, 999'999'999'998);
  EXPECT_EQ(keys.verify(latest.reveal(), 999'999'999'998).status, serve::SessionKeyStatus::valid);
}

}  // namespace
}  // namespace llmrt::test::session_test
