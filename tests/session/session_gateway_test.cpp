// The gateway with session keys on: a valid key is served with its tenant's upstream key (which
// the tenant never sees), every bad key gets 401 in OpenAI's shape and an audit entry, revocation
// through the deny-list file without a restart, master key rotation, and stateless replicas.
#include <regex>
#include <set>
#include <thread>

#include "session_test_support.hpp"

namespace llmrt::test::session_test {
namespace {

// The audit event with `request_id`; adds a failure if there is not exactly one.
serve::AuditEvent event_for(const std::vector<serve::AuditEvent>& events,
                            const std::string& request_id) {
  const serve::AuditEvent* found = nullptr;
  for (const auto& event : events) {
    if (event.request_id != request_id) continue;
    EXPECT_EQ(found, nullptr) << "two audit events for " << request_id;
    found = &event;
  }
  if (found == nullptr) {
    ADD_FAILURE() << "no audit event for request " << request_id;
    return {};
  }
  return *found;
}

void expect_unauthorized(const Reply& reply, const std::string& what) {
  EXPECT_EQ(reply.status, 401) << what << ": " << reply;
  const boost::json::object error = error_of(reply);
  EXPECT_EQ(field(error, "type"), "authentication_error") << what;
  EXPECT_EQ(field(error, "code"), "invalid_api_key") << what;
  EXPECT_TRUE(std::regex_match(reply.header("X-Request-Id"), std::regex("req_[0-9a-f]{24}")))
      << what;
}

TEST_F(SessionTest, ValidSessionKeyIsServedWithTheTenantsUpstreamKey) {
  ServedGateway& gateway = start_gateway();
  const std::string acme = issue("acme");
  const std::string beta = issue("beta");
  std::vector<std::string> request_ids;
  for (const bool stream : {false, true}) {
    for (const auto& [key, entry] :
         {std::pair{acme, std::string("acme-echo")}, std::pair{beta, std::string("beta-echo")}}) {
      const std::string prompt = "hello from " + entry + " " + random_hex(4);
      const Reply reply = chat(gateway, key, prompt, stream);
      ASSERT_EQ(reply.status, 200) << reply;
      // echo reports the key that reached it: the tenant's upstream key, not the session key.
      EXPECT_EQ(serve_test::reply_text(reply, stream), echo_reply(prompt, upstream(entry)));
      EXPECT_NE(serve_test::reply_text(reply, stream), echo_reply(prompt, key));
      if (!stream) EXPECT_EQ(reply.header("X-Llmrt-Key-Source"), "stored-name");
      request_ids.push_back(reply.header("X-Request-Id"));
    }
  }
  EXPECT_EQ(std::set<std::string>(request_ids.begin(), request_ids.end()).size(), 4u);

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, 4);
  ASSERT_EQ(events.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const serve::AuditEvent event = event_for(events, request_ids[i]);
    const bool is_acme = i % 2 == 0;
    const std::string& key = is_acme ? acme : beta;
    EXPECT_EQ(event.tenant, is_acme ? "acme" : "beta");
    EXPECT_EQ(event.model, "echo");
    EXPECT_EQ(event.key_source, "stored-name");
    EXPECT_EQ(event.key_fingerprint, audit_fingerprint(key));
    EXPECT_EQ(event.key_id, key.substr(key.size() - 43 - 17, 16));
    EXPECT_EQ(event.status, 200);
    EXPECT_EQ(event.outcome, "ok");
    EXPECT_EQ(event.stream, i >= 2);
  }
  // The access log shows the same keyed fingerprint, never the plain sha256 one.
  const std::string log = gateway.access_log_with(4);
  EXPECT_NE(log.find("key=" + audit_fingerprint(acme) + " "), std::string::npos) << log;
  EXPECT_EQ(log.find(sha256_prefix(acme)), std::string::npos);
}

TEST_F(SessionTest, EveryBadSessionKeyIs401WithAnAuditEntry) {
  ServedGateway& gateway = start_gateway();
  const std::string good = issue("acme");
  const std::string signed_part = good.substr(0, good.rfind('.'));
  const std::string mac = good.substr(good.rfind('.') + 1);
  std::string flipped_mac = good;
  flipped_mac.back() = flipped_mac.back() == 'A' ? 'B' : 'A';
  std::string flipped_tenant = good;
  flipped_tenant[10] = static_cast<char>(flipped_tenant[10] ^ 0x20);  // "Acme"
  std::string flipped_expiry = good;
  flipped_expiry[15] = flipped_expiry[15] == '9' ? '8' : '9';
  std::string flipped_key_id = good;
  flipped_key_id[good.size() - 44 - 1] = good[good.size() - 45] == 'a' ? 'b' : 'a';
  const std::string other_tenant =
      "llmrt-sk1.beta" + good.substr(std::string("llmrt-sk1.acme").size());
  const std::string expired = issue("acme", 60, now_.load() - 120);
  const std::string expired_forged =
      expired.substr(0, expired.size() - 1) + (expired.back() == 'A' ? "B" : "A");

  struct Case {
    std::string name;
    std::string key;
    std::string outcome;
    std::optional<std::string> tenant;
  };
  const std::vector<Case> cases{
      {"forged MAC", signed_part + "." + std::string(43, 'x'), "session_key_bad_mac", {}},
      {"flipped bit in the MAC", flipped_mac, "session_key_bad_mac", {}},
      {"flipped bit in the tenant", flipped_tenant, "session_key_bad_mac", {}},
      {"altered expiry", flipped_expiry, "session_key_bad_mac", {}},
      {"altered key id", flipped_key_id, "session_key_bad_mac", {}},
      {"other tenant", other_tenant, "session_key_bad_mac", {}},
      {"truncated MAC", good.substr(0, good.size() - 1), "session_key_malformed", {}},
      {"truncated to the signed part", signed_part, "session_key_malformed", {}},
      {"truncated to the prefix", "llmrt-sk1.", "session_key_malformed", {}},
      {"extra field", good + ".extra", "session_key_malformed", {}},
      {"field inserted", "llmrt-sk1.acme.x" + good.substr(14), "session_key_malformed", {}},
      {"expired", expired, "session_key_expired", std::string("acme")},
      {"expired and forged", expired_forged, "session_key_bad_mac", {}},
      {"wrong prefix", "llmrt-sk2" + good.substr(9), "raw_key_refused", {}},
      {"a raw key", "sk-raw-" + random_hex(8), "raw_key_refused", {}},
  };
  std::map<std::string, Case> by_request;
  for (const Case& c : cases) {
    // A presented key is never echoed, good or bad (the bare prefix is in messages on purpose).
    if (c.key.size() > 20) watch_secret(c.key);
    const Reply reply = chat(gateway, c.key, "hi");
    expect_unauthorized(reply, c.name);
    EXPECT_EQ(reply.body.find("acme-echo"), std::string::npos) << c.name;
    by_request[reply.header("X-Request-Id")] = c;
  }
  // No Authorization header, and an empty bearer token.
  Reply missing = chat(gateway, std::nullopt, "hi");
  EXPECT_EQ(missing.status, 401) << missing;
  EXPECT_EQ(field(error_of(missing), "code"), "missing_api_key");
  Reply empty = serve_test::post_chat(*gateway.client(), chat_body("echo", "hi", false),
                                      {{"Authorization", "Bearer "}});
  see(empty);
  expect_unauthorized(empty, "empty bearer");

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, cases.size() + 2);
  ASSERT_EQ(events.size(), cases.size() + 2);
  for (const auto& [request_id, c] : by_request) {
    const serve::AuditEvent event = event_for(events, request_id);
    EXPECT_EQ(event.status, 401) << c.name;
    EXPECT_EQ(event.outcome, c.outcome) << c.name;
    EXPECT_EQ(event.tenant, c.tenant) << c.name;
    EXPECT_EQ(event.key_fingerprint, audit_fingerprint(c.key)) << c.name;
  }
  EXPECT_EQ(event_for(events, missing.header("X-Request-Id")).outcome, "missing_api_key");
  EXPECT_EQ(event_for(events, empty.header("X-Request-Id")).outcome, "malformed_authorization");
  EXPECT_EQ(event_for(events, missing.header("X-Request-Id")).key_fingerprint, std::nullopt);

  // The clock moves on: a key valid a moment ago expires.
  const std::string short_lived = issue("acme", 30);
  EXPECT_EQ(chat(gateway, short_lived, "still valid").status, 200);
  now_ += 30;
  expect_unauthorized(chat(gateway, short_lived, "now expired"), "expired by the clock");
  now_ -= 30;
  const Reply after = chat(gateway, good, "after");
  ASSERT_EQ(after.status, 200) << after;
  EXPECT_EQ(completion_content(after.body), echo_reply("after", upstream("acme-echo")));
}

TEST_F(SessionTest, RawKeysAreRefusedUnlessAllowed) {
  const std::string raw = "sk-tenant-raw-" + random_hex(8);
  watch_secret(raw);
  ServedGateway& strict = start_gateway();
  const Reply refused = chat(strict, raw, "hi");
  expect_unauthorized(refused, "raw key");
  EXPECT_NE(field(error_of(refused), "message").find("session keys"), std::string::npos);
  ServedGateway& lenient =
      start_gateway([](serve::GatewayConfig& config) { config.allow_raw_client_keys = true; });
  const Reply served = chat(lenient, raw, "hello raw");
  ASSERT_EQ(served.status, 200) << served;
  EXPECT_EQ(completion_content(served.body), echo_reply("hello raw", raw));
  EXPECT_EQ(served.header("X-Llmrt-Key-Source"), "per-call");
  const Reply session = chat(lenient, issue("beta"), "hello session");
  ASSERT_EQ(session.status, 200) << session;
  EXPECT_EQ(completion_content(session.body), echo_reply("hello session", upstream("beta-echo")));
  EXPECT_EQ(chat(lenient, std::nullopt, "no key").status, 401);

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, 4);
  const serve::AuditEvent raw_event = event_for(events, served.header("X-Request-Id"));
  EXPECT_EQ(raw_event.tenant, std::nullopt);
  EXPECT_EQ(raw_event.key_source, "per-call");
  EXPECT_EQ(raw_event.outcome, "ok");
  EXPECT_EQ(event_for(events, refused.header("X-Request-Id")).outcome, "raw_key_refused");
}

TEST_F(SessionTest, TenantWithoutAKeyForTheModelGets403) {
  ServedGateway& gateway = start_gateway();
  // gamma has a key for openai models only.
  const Reply refused = chat(gateway, issue("gamma"), "hi");
  EXPECT_EQ(refused.status, 403) << refused;
  const boost::json::object error = error_of(refused);
  EXPECT_EQ(field(error, "type"), "permission_error");
  EXPECT_EQ(field(error, "code"), "model_not_allowed");
  EXPECT_EQ(field(error, "param"), "model");
  EXPECT_NE(field(error, "message").find("tenant 'gamma' has no key for model 'echo'"),
            std::string::npos)
      << refused;
  // A model that takes no key at all is served to any tenant.
  const Reply legacy = chat(gateway, issue("gamma"), "old model", false, "legacy-echo");
  ASSERT_EQ(legacy.status, 200) << legacy;
  EXPECT_EQ(completion_content(legacy.body), "old model");
  // A tenant that the tenants file does not know, with a genuine key.
  const Reply unknown = chat(gateway, issue("delta"), "hi");
  EXPECT_EQ(unknown.status, 403) << unknown;
  EXPECT_EQ(field(error_of(unknown), "code"), "tenant_not_configured");

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, 3);
  EXPECT_EQ(event_for(events, refused.header("X-Request-Id")).outcome, "tenant_no_key");
  EXPECT_EQ(event_for(events, refused.header("X-Request-Id")).status, 403);
  EXPECT_EQ(event_for(events, legacy.header("X-Request-Id")).key_source, "none");
  EXPECT_EQ(event_for(events, unknown.header("X-Request-Id")).outcome, "tenant_not_configured");
  EXPECT_EQ(event_for(events, unknown.header("X-Request-Id")).tenant, "delta");
}

TEST_F(SessionTest, MissingUpstreamKeyIsTheOperatorsProblem) {
  ServedGateway& gateway = start_gateway();
  // "lost" maps echo to "lost-echo", which is not in the keys file.
  const Reply reply = chat(gateway, issue("lost"), "hi");
  EXPECT_EQ(reply.status, 500) << reply;
  const boost::json::object error = error_of(reply);
  EXPECT_EQ(field(error, "code"), "upstream_key_unavailable");
  EXPECT_EQ(reply.body.find("lost-echo"), std::string::npos) << reply;
  EXPECT_EQ(reply.body.find("keys.json"), std::string::npos) << reply;
  // The operator learns which entry is missing, at start and for the request.
  std::fflush(warnings_);
  const std::string warnings = read_file(warnings_path_);
  EXPECT_NE(warnings.find("'lost-echo', which is not in"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find(reply.header("X-Request-Id")), std::string::npos) << warnings;
  EXPECT_EQ(event_for(audit_events_with(audit_path_, 1), reply.header("X-Request-Id")).outcome,
            "upstream_key_unavailable");
  const Reply after = chat(gateway, issue("acme"), "after");
  ASSERT_EQ(after.status, 200) << after;
  EXPECT_EQ(completion_content(after.body), echo_reply("after", upstream("acme-echo")));
}

// An operator who writes a provider key where its keys-file entry's name goes finds it neither in
// the start-up warning nor in the warning of each call (TearDown checks every log and reply).
TEST_F(SessionTest, AKeyWrittenWhereANameGoesIsNeverLogged) {
  const std::string key = "sk-proj-Careless" + random_hex(20) + "Zq9";
  watch_secret(key);
  write_text(tenants_path_, R"({"tenants": {"careless": {"keys": {"echo": ")" + key + R"("}}}})");
  ServedGateway& gateway = start_gateway();
  const Reply reply = chat(gateway, issue("careless"), "hi");
  see(reply);
  EXPECT_EQ(reply.status, 500) << reply;
  EXPECT_EQ(field(error_of(reply), "code"), "upstream_key_unavailable");
  std::fflush(warnings_);
  const std::string warnings = read_file(warnings_path_);
  EXPECT_NE(warnings.find("the tenants file holds names of keys-file entries, never keys"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find(reply.header("X-Request-Id")), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("looks like a key, not shown"), std::string::npos) << warnings;
}

TEST_F(SessionTest, DenyListRevokesWithoutARestart) {
  ServedGateway& gateway = start_gateway();
  const std::string first = issue("acme");
  const std::string second = issue("acme");
  const std::string beta = issue("beta");
  const std::string first_id = first.substr(first.size() - 43 - 17, 16);
  for (const std::string* key : {&first, &second, &beta}) {
    EXPECT_EQ(chat(gateway, *key, "before").status, 200);
  }

  // Revoke one key (the file replaced through a rename: a new inode).
  replace_file(deny_list_path_, "# stolen laptop\n" + first_id + "  # ann\n");
  const Reply revoked = chat(gateway, first, "after");
  expect_unauthorized(revoked, "revoked key");
  EXPECT_NE(field(error_of(revoked), "message").find("revoked"), std::string::npos);
  EXPECT_EQ(chat(gateway, second, "after").status, 200);
  EXPECT_EQ(chat(gateway, beta, "after").status, 200);

  // Revoke a whole tenant, editing the file in place.
  {
    std::ofstream out(deny_list_path_, std::ios::app);
    out << "tenant:beta\n";
  }
  const Reply tenant_revoked = chat(gateway, beta, "after");
  expect_unauthorized(tenant_revoked, "revoked tenant");
  EXPECT_EQ(chat(gateway, second, "after").status, 200);
  EXPECT_EQ(chat(gateway, issue("beta"), "a fresh key").status, 401);

  // A malformed line is skipped with a warning; the valid entries still apply.
  replace_file(deny_list_path_, "tenant:beta\nnot-an-entry\n" + first_id.substr(0, 8) + "\n");
  EXPECT_EQ(chat(gateway, beta, "x").status, 401);
  EXPECT_EQ(chat(gateway, first, "x").status, 200);  // un-revoked: its line is gone
  std::fflush(warnings_);
  EXPECT_NE(read_file(warnings_path_).find("line 2: neither a key id"), std::string::npos);

  // A deleted deny list keeps the last entries in force.
  std::filesystem::remove(deny_list_path_);
  EXPECT_EQ(chat(gateway, beta, "x").status, 401);

  const std::vector<serve::AuditEvent> events = audit_events(audit_path_);
  EXPECT_EQ(event_for(events, revoked.header("X-Request-Id")).outcome, "session_key_revoked");
  EXPECT_EQ(event_for(events, revoked.header("X-Request-Id")).key_id, first_id);
  EXPECT_EQ(event_for(events, tenant_revoked.header("X-Request-Id")).outcome, "tenant_revoked");
}

TEST_F(SessionTest, RotatingTheMasterKeyInvalidatesOldKeys) {
  const std::string old_key = issue("acme");
  {
    ServedGateway& before = start_gateway();
    EXPECT_EQ(chat(before, old_key, "before").status, 200);
  }
  gateways_.clear();
  const std::filesystem::path next_master = dir_.path() / "master-2.key";
  serve::create_secret_key_file(next_master, "master key");
  watch_secret(trimmed(read_file(next_master)));
  const std::string new_key = issue("acme", 3600, std::nullopt, next_master);

  ServedGateway& after = start_gateway({}, next_master);
  const Reply old_reply = chat(after, old_key, "after");
  expect_unauthorized(old_reply, "key of the old master key");
  const Reply new_reply = chat(after, new_key, "after");
  ASSERT_EQ(new_reply.status, 200) << new_reply;
  EXPECT_EQ(completion_content(new_reply.body), echo_reply("after", upstream("acme-echo")));
  EXPECT_EQ(event_for(audit_events_with(audit_path_, 3), old_reply.header("X-Request-Id")).outcome,
            "session_key_bad_mac");
  gateways_.clear();

  // An overlap window: the previous master key is still accepted.
  ServedGateway& overlap = start_gateway(
      [&](serve::GatewayConfig& config) { config.previous_master_key_file = master_key_path_; },
      next_master);
  EXPECT_EQ(chat(overlap, old_key, "overlap").status, 200);
  EXPECT_EQ(chat(overlap, new_key, "overlap").status, 200);
}

TEST_F(SessionTest, ReplicasWithTheSameMasterKeyShareNothingElse) {
  const std::filesystem::path second_audit = dir_.path() / "audit-2.log";
  ServedGateway& first = start_gateway();
  ServedGateway& second =
      start_gateway([&](serve::GatewayConfig& config) { config.audit_log_file = second_audit; });
  const std::string key = issue("acme");
  const Reply a = chat(first, key, "replica one");
  const Reply b = chat(second, key, "replica two");
  ASSERT_EQ(a.status, 200) << a;
  ASSERT_EQ(b.status, 200) << b;
  EXPECT_EQ(completion_content(a.body), echo_reply("replica one", upstream("acme-echo")));
  EXPECT_EQ(completion_content(b.body), echo_reply("replica two", upstream("acme-echo")));
  // Both replicas fingerprint the key alike: their audit logs can be merged.
  const auto first_events = audit_events_with(audit_path_, 1);
  const auto second_events = audit_events_with(second_audit, 1);
  ASSERT_EQ(first_events.size(), 1u);
  ASSERT_EQ(second_events.size(), 1u);
  EXPECT_EQ(first_events[0].key_fingerprint, second_events[0].key_fingerprint);
  EXPECT_EQ(first_events[0].key_fingerprint, audit_fingerprint(key));
}

TEST_F(SessionTest, GatewayRefusesABadConfiguration) {
  const FakeEnvironment environment;
  const Runtime runtime(isolated_config(dir_.path() / "user", environment));
  auto make = [&](const std::function<void(serve::GatewayConfig&)>& tweak) {
    serve::GatewayConfig config;
    config.port = 0;
    config.access_log = nullptr;
    config.warning_log = warnings_;
    config.master_key_file = master_key_path_;
    config.tenants_file = tenants_path_;
    tweak(config);
    serve::Gateway gateway(runtime, config);
  };
  auto refused = [&](const std::function<void(serve::GatewayConfig&)>& tweak) -> std::string {
    try {
      make(tweak);
    } catch (const Error& error) {
      see(error.what());
      return error.what();
    }
    ADD_FAILURE() << "the gateway started";
    return {};
  };
  EXPECT_NO_THROW(make([](serve::GatewayConfig&) {}));
  EXPECT_NE(refused([](serve::GatewayConfig& c) { c.tenants_file.clear(); }).find("tenants file"),
            std::string::npos);
  EXPECT_NE(refused([](serve::GatewayConfig& c) {
              c.master_key_file.clear();
              c.tenants_file.clear();
              c.allow_raw_client_keys = true;
            }).find("--master-key-file"),
            std::string::npos);
  ::chmod(master_key_path_.c_str(), 0644);
  EXPECT_NE(refused([](serve::GatewayConfig&) {}).find("too open"), std::string::npos);
  ::chmod(master_key_path_.c_str(), 0600);
  const std::filesystem::path link = dir_.path() / "link.key";
  std::filesystem::create_symlink(master_key_path_, link);
  EXPECT_NE(
      refused([&](serve::GatewayConfig& c) { c.master_key_file = link; }).find("symbolic link"),
      std::string::npos);

  const std::filesystem::path bad_tenants = dir_.path() / "bad-tenants.json";
  for (const std::string text :
       {"{", "[]", R"({"tenant": {}})", R"({"tenants": {"a.b": {"keys": {}}}})",
        R"({"tenants": {"acme": {"keys": {"echo": 5}}}})",
        R"({"tenants": {"acme": {"key": {"echo": "x"}}}})",
        R"({"tenants": {"acme": {"keys": {"echo": "bad name"}}}})"}) {
    write_text(bad_tenants, text);
    EXPECT_NE(refused([&](serve::GatewayConfig& c) {
                c.tenants_file = bad_tenants;
              }).find("bad-tenants.json"),
              std::string::npos)
        << text;
  }
  const std::filesystem::path bad_deny = dir_.path() / "bad-deny.list";
  write_text(bad_deny, "0123456789abcdef\nllmrt-sk1.acme.1.2.3\n");
  const std::string deny_error =
      refused([&](serve::GatewayConfig& c) { c.deny_list_file = bad_deny; });
  EXPECT_NE(deny_error.find("line 2"), std::string::npos) << deny_error;
  EXPECT_EQ(deny_error.find("llmrt-sk1"), std::string::npos) << deny_error;
  EXPECT_NE(refused([&](serve::GatewayConfig& c) {
              c.deny_list_file = dir_.path() / "none";
            }).find("deny-list"),
            std::string::npos);
}

}  // namespace
}  // namespace llmrt::test::session_test
