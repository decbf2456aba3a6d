// Key versions behind the gateway (docs/keys.md#key-versions): a tenant's upstream key with
// versions is chosen per call like any stored key; with --key-version-sticky each tenant session
// (one session key) keeps its first version; the audit log names the version and the latency of
// each call, and `llmrt audit` shows calls, errors and latency per key version.
#include <map>
#include <regex>
#include <set>

#include "session_test_support.hpp"
#include "sticky_key_versions.hpp"

namespace llmrt::test::session_test {
namespace {

class KeyVersionsGateway : public SessionTest {
 protected:
  // The version of acme's echo key a reply was served with, from the fingerprint echo reports.
  std::string version_in(const Reply& reply, const std::string& prompt, bool stream) {
    const std::string text = serve_test::reply_text(reply, stream);
    if (text == echo_reply(prompt, upstream("acme-echo"))) return "current";
    if (text == echo_reply(prompt, pending_)) return "pending";
    return "unknown: " + text;
  }

  void add_pending(ServedGateway& gateway) {
    pending_ = "sk-acme-pending-" + random_hex(12);
    watch_secret(pending_);
    KeysFile(gateway.runtime().keys_file_path())
        .set_version("acme-echo", "pending", Key(pending_), 50);
  }

  std::string pending_;
};

TEST_F(KeyVersionsGateway, EachSessionSticksToItsFirstVersionAndTheAuditLogNamesIt) {
  ServedGateway& gateway =
      start_gateway([](serve::GatewayConfig& config) { config.key_version_sticky = true; });
  add_pending(gateway);
  std::set<std::string> first_versions;
  std::map<std::string, std::size_t> served;
  for (int session = 0; session < 20; ++session) {
    const std::string key = issue("acme");
    std::string first;
    for (int call = 0; call < 4; ++call) {
      const bool stream = call % 2 == 1;
      const std::string prompt = "s" + std::to_string(session) + "c" + std::to_string(call);
      const Reply reply = chat(gateway, key, prompt, stream);
      ASSERT_EQ(reply.status, 200) << reply;
      const std::string version = version_in(reply, prompt, stream);
      if (call == 0) first = version;
      EXPECT_EQ(version, first) << "session " << session << " call " << call;
      ++served[version];
    }
    first_versions.insert(first);
  }
  // 50/50 weights (unseeded): 20 sessions all starting on one version has odds of 2 in 2^20.
  EXPECT_EQ(first_versions, (std::set<std::string>{"current", "pending"}));

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, 80);
  ASSERT_EQ(events.size(), 80u);
  std::map<std::string, std::size_t> logged;
  for (const auto& event : events) {
    ASSERT_TRUE(event.key_version);
    ++logged[*event.key_version];
    ASSERT_TRUE(event.duration_ms);
    EXPECT_GE(*event.duration_ms, 0);
  }
  EXPECT_EQ(logged, served);

  CliRunner cli;
  const CliResult text = cli.run({"audit", audit_path_.string()});
  see(text);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("KEY VERSION"), std::string::npos) << text.out;
  for (const auto& [version, count] : served) {
    const std::regex row("echo +" + version + " +" + std::to_string(count) +
                         R"( +0 +0\.0% +\d+ +\d+ +\d+)");
    EXPECT_TRUE(std::regex_search(text.out, row)) << version << " in:\n" << text.out;
  }
  const CliResult json = cli.run({"audit", audit_path_.string(), "--json"});
  see(json);
  EXPECT_NE(json.out.find("\"key_versions\""), std::string::npos) << json.out;
}

TEST_F(KeyVersionsGateway, WithoutStickinessEachCallChoosesAgain) {
  ServedGateway& gateway = start_gateway();
  add_pending(gateway);
  const std::string key = issue("acme");
  std::set<std::string> versions;
  std::map<std::string, std::size_t> served;
  for (int call = 0; call < 40; ++call) {
    const std::string prompt = "c" + std::to_string(call);
    const Reply reply = chat(gateway, key, prompt);
    ASSERT_EQ(reply.status, 200) << reply;
    versions.insert(version_in(reply, prompt, false));
    ++served[version_in(reply, prompt, false)];
  }
  EXPECT_EQ(versions, (std::set<std::string>{"current", "pending"}));

  // The access log names the version of each call too, as the audit log does.
  std::map<std::string, std::size_t> logged;
  const std::regex version_field(R"( key_version=(\S+) )");
  for (const std::string& line : serve_test::lines_of(gateway.access_log_with(40))) {
    std::smatch match;
    if (line.find(" /v1/chat/completions ") != std::string::npos &&
        std::regex_search(line, match, version_field)) {
      ++logged[match[1].str()];
    }
  }
  EXPECT_EQ(logged, served) << gateway.access_log_text();
}

TEST(StickyKeyVersions, RemembersTheFirstVersionPerSessionAndForgetsTheOldestWhenFull) {
  serve::StickyKeyVersions sticky;
  const auto session = [](std::size_t n) {
    serve::AuditEvent audit;
    audit.tenant = "acme";
    audit.key_id = "k" + std::to_string(n);
    audit.model = "echo";
    return audit;
  };
  const auto stuck = [&](std::size_t n) {
    PromptOptions options;
    sticky.apply(session(n), options);
    return options.key_version;
  };
  Response pending;
  pending.key_version = "pending";
  Response current;
  current.key_version = "current";
  sticky.remember(session(0), pending);
  sticky.remember(session(0), current);  // the first version stays
  EXPECT_EQ(stuck(0), "pending");
  serve::AuditEvent raw;  // no tenant session: nothing to stick to
  sticky.remember(raw, pending);
  PromptOptions options;
  sticky.apply(raw, options);
  EXPECT_EQ(options.key_version, "");
  for (std::size_t n = 1; n <= serve::StickyKeyVersions::kMaxSessions; ++n) {
    sticky.remember(session(n), current);
  }
  EXPECT_EQ(stuck(0), "");  // the oldest went when the table was full
  EXPECT_EQ(stuck(serve::StickyKeyVersions::kMaxSessions), "current");
}

}  // namespace
}  // namespace llmrt::test::session_test
