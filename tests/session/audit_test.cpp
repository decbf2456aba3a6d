// The audit log: its file rules, its line format, keyed fingerprints, 1600 concurrent requests
// giving exactly 1600 whole lines, and the `llmrt audit` and `llmrt keys new-master-key | derive`
// commands run as a user runs them.
#include <sys/stat.h>

#include <regex>
#include <set>
#include <thread>

#include "session_test_support.hpp"

namespace llmrt::test::session_test {
namespace {

namespace json = boost::json;

mode_t mode_of(const std::filesystem::path& path) {
  struct stat status {};
  ::lstat(path.c_str(), &status);
  return status.st_mode & 07777;
}

serve::AuditEvent sample_event(const std::string& tenant, const std::string& outcome) {
  serve::AuditEvent event;
  event.time = "2026-03-01T12:00:00.000Z";
  event.request_id = serve::make_request_id();
  event.tenant = tenant;
  event.model = "echo";
  event.key_source = "stored-name";
  event.key_fingerprint = "hmac:0011223344556677";
  event.key_id = "0123456789abcdef";
  event.status = outcome == "ok" ? 200 : 401;
  event.outcome = outcome;
  return event;
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text.substr(0, 500);
    return {};
  }
  return value.as_object();
}

// tenant (or "-") -> outcome -> count, from `llmrt audit --json` output.
std::map<std::string, std::map<std::string, std::int64_t>> counts_by(const json::object& summary,
                                                                     const char* list,
                                                                     const char* id) {
  std::map<std::string, std::map<std::string, std::int64_t>> counts;
  for (const json::value& entry : summary.at(list).as_array()) {
    const json::object& object = entry.as_object();
    const json::value& name = object.at(id);
    auto& outcomes = counts[name.is_null() ? "-" : std::string(name.as_string())];
    std::int64_t total = 0;
    for (const auto& [outcome, count] : object.at("outcomes").as_object()) {
      outcomes[outcome] = count.as_int64();
      total += count.as_int64();
    }
    EXPECT_EQ(object.at("requests").as_int64(), total);
  }
  return counts;
}

TEST(AuditLogFile, CreatedPrivateAndAppendedTo) {
  TempDir dir;
  const auto path = dir.path() / "audit.log";
  {
    serve::AuditLog log(path);
    log.write(sample_event("acme", "ok"));
  }
  EXPECT_EQ(mode_of(path), 0600u);
  {
    serve::AuditLog log(path);  // reopened: appended to, never truncated
    log.write(sample_event("beta", "session_key_expired"));
  }
  const std::vector<serve::AuditEvent> events = audit_events(path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].tenant, "acme");
  EXPECT_EQ(events[1].outcome, "session_key_expired");
  ::chmod(path.c_str(), 0640);  // a log shipper's group may read it
  EXPECT_NO_THROW(serve::AuditLog{path});
}

TEST(AuditLogFile, SymlinksAndWritableByOthersAreRefused) {
  TempDir dir;
  const auto path = dir.path() / "audit.log";
  { serve::AuditLog log(path); }
  const auto link = dir.path() / "link.log";
  std::filesystem::create_symlink(path, link);
  try {
    serve::AuditLog log(link);
    ADD_FAILURE() << "a symbolic link was followed";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("symbolic link"), std::string::npos) << error.what();
  }
  for (const mode_t mode : {0620, 0602, 0666}) {
    ::chmod(path.c_str(), mode);
    EXPECT_THROW(serve::AuditLog{path}, Error) << std::oct << mode;
  }
  std::filesystem::create_directory(dir.path() / "dir");
  EXPECT_THROW(serve::AuditLog{dir.path() / "dir"}, Error);
}

TEST(AuditLogFile, EveryEventIsOneLineWhateverItHolds) {
  serve::AuditEvent event = sample_event("acme", "ok");
  event.model = "evil\nmodel\r\"{}\u2028\x01";
  event.tenant.reset();
  event.key_id.reset();
  const std::string line = serve::audit_line(event);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  std::string why;
  const std::optional<serve::AuditEvent> back =
      serve::parse_audit_line(line.substr(0, line.size() - 1), why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->model, event.model);
  EXPECT_EQ(back->tenant, std::nullopt);
  EXPECT_EQ(back->request_id, event.request_id);
  EXPECT_TRUE(std::regex_match(event.request_id, std::regex("req_[0-9a-f]{24}")));
  EXPECT_TRUE(std::regex_match(serve::rfc3339_utc(std::chrono::system_clock::now()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(serve::rfc3339_utc(std::chrono::system_clock::time_point(
                std::chrono::milliseconds(1'800'000'000'123LL))),
            "2027-01-15T08:00:00.123Z");
}

TEST(AuditLogFile, MalformedLinesAreNamed) {
  const std::string good = serve::audit_line(sample_event("acme", "ok"));
  const std::string line = good.substr(0, good.size() - 1);
  std::string why;
  EXPECT_TRUE(serve::parse_audit_line(line, why)) << why;
  for (const std::string bad :
       {std::string("{"), std::string("[]"), std::string("null"), line.substr(0, line.size() / 2),
        std::regex_replace(line, std::regex(R"("status":200)"), R"("status":"200")"),
        std::regex_replace(line, std::regex(R"("outcome":"ok")"), R"("outcome":"")"),
        std::regex_replace(line, std::regex(R"("time":"[^"]*")"), R"("time":"yesterday")"),
        std::regex_replace(line, std::regex(R"("tenant":"acme",)"), "")}) {
    why.clear();
    EXPECT_FALSE(serve::parse_audit_line(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(AuditFingerprints, KeyedNotPlainSha256) {
  const serve::KeyFingerprinter one(serve::SecretBytes::random());
  const serve::KeyFingerprinter two(serve::SecretBytes::random());
  const std::string key = "sk-" + random_hex(16);
  const std::string fingerprint = one.fingerprint(key);
  EXPECT_TRUE(std::regex_match(fingerprint, std::regex("hmac:[0-9a-f]{16}"))) << fingerprint;
  EXPECT_EQ(one.fingerprint(key), fingerprint);  // stable under one audit key
  EXPECT_NE(one.fingerprint(key + "x"), fingerprint);
  EXPECT_NE(two.fingerprint(key), fingerprint);  // and meaningless without it
  EXPECT_EQ(fingerprint.find(sha256_prefix(key)), std::string::npos);
  EXPECT_EQ(fingerprint.find(sha256_prefix(key).substr(0, 8)), std::string::npos);
}

// Without a master key, fingerprints come from --audit-key-file, else from a random key.
TEST_F(SessionTest, AuditWithoutSessionKeys) {
  const std::filesystem::path audit_key = dir_.path() / "fingerprint.key";  // not an audit*.log
  serve::create_secret_key_file(audit_key, "audit key");
  watch_secret(trimmed(read_file(audit_key)));
  const std::string key = "sk-plain-" + random_hex(8);
  watch_secret(key);
  const std::filesystem::path keyed_log = dir_.path() / "audit-keyed.log";
  const std::filesystem::path random_log = dir_.path() / "audit-random.log";
  for (const auto& [log, key_file] :
       {std::pair{keyed_log, audit_key}, std::pair{random_log, std::filesystem::path()}}) {
    ServedGateway gateway([&](serve::GatewayConfig& config) {
      config.audit_log_file = log;
      config.audit_key_file = key_file;
      config.warning_log = warnings_;
    });
    auto client = gateway.client();
    const Reply reply = serve_test::post_chat(*client, chat_body("echo", "hi", false), bearer(key));
    see(reply);
    ASSERT_EQ(reply.status, 200) << reply;
    EXPECT_EQ(completion_content(reply.body), echo_reply("hi", key));  // the raw key, per call
    const Reply anonymous = serve_test::post_chat(*client, chat_body("echo", "hi", false));
    see(anonymous);
    EXPECT_EQ(anonymous.status, 200);
    const std::vector<serve::AuditEvent> events = audit_events_with(log, 2);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].tenant, std::nullopt);
    EXPECT_EQ(events[0].key_source, "per-call");
    EXPECT_EQ(events[1].key_fingerprint, std::nullopt);
    ASSERT_TRUE(events[0].key_fingerprint);
    EXPECT_NE(*events[0].key_fingerprint, "sha256:" + sha256_prefix(key));
    const std::string access = gateway.access_log_with(2);
    see(access);
    EXPECT_NE(access.find("key=" + *events[0].key_fingerprint + " "), std::string::npos) << access;
    if (!key_file.empty()) {
      const serve::KeyFingerprinter expected(
          serve::derive_subkey(serve::read_secret_key_file(audit_key, "audit key"), "llmrt audit"));
      EXPECT_EQ(events[0].key_fingerprint, expected.fingerprint(key));
    }
  }
}

TEST_F(SessionTest, ConcurrentRequestsGiveOneWholeLineEach) {
  constexpr int kThreads = 16;
  constexpr int kRequestsPerThread = 100;
  ServedGateway& gateway =
      start_gateway([](serve::GatewayConfig& config) { config.allow_raw_client_keys = true; });
  struct Presented {
    std::string key;
    std::string tenant;  // "-": none
    std::string outcome;
  };
  const std::string raw = "sk-raw-" + random_hex(8);
  watch_secret(raw);
  const std::string acme = issue("acme");
  std::string forged = acme;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'x' ? 'y' : 'x';
  const std::vector<Presented> keys{
      {acme, "acme", "ok"},
      {issue("acme"), "acme", "ok"},
      {issue("beta"), "beta", "ok"},
      {issue("acme", 60, now_.load() - 3600), "acme", "session_key_expired"},
      {forged, "-", "session_key_bad_mac"},
      {issue("gamma"), "gamma", "tenant_no_key"},
      {raw, "-", "ok"},
  };
  for (const Presented& presented : keys) watch_secret(presented.key);

  std::mutex mutex;
  std::map<std::string, std::size_t> request_key;  // request id -> index in keys
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = gateway.client();
      client->set_keep_alive(true);
      for (int r = 0; r < kRequestsPerThread; ++r) {
        const std::size_t which =
            static_cast<std::size_t>(t * kRequestsPerThread + r) % keys.size();
        const bool stream = r % 3 == 0;
        const Reply reply = serve_test::post_chat(
            *client, chat_body("echo", "n" + std::to_string(r), stream), bearer(keys[which].key));
        see(reply);
        const int expected = keys[which].outcome == "ok"              ? 200
                             : keys[which].outcome == "tenant_no_key" ? 403
                                                                      : 401;
        if (reply.status != expected) ++failures;
        std::lock_guard lock(mutex);
        request_key[reply.header("X-Request-Id")] = which;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  constexpr std::size_t kTotal = kThreads * kRequestsPerThread;
  ASSERT_EQ(request_key.size(), kTotal);  // every request id is distinct

  const std::vector<serve::AuditEvent> events = audit_events_with(audit_path_, kTotal);
  const std::vector<std::string> lines = lines_of(read_file(audit_path_));
  ASSERT_EQ(lines.size(), kTotal);
  ASSERT_EQ(events.size(), kTotal);  // every line parses alone: none is interleaved
  std::map<std::string, std::map<std::string, std::int64_t>> by_tenant;
  std::map<std::string, std::map<std::string, std::int64_t>> by_fingerprint;
  for (const serve::AuditEvent& event : events) {
    ASSERT_EQ(request_key.count(event.request_id), 1u) << event.request_id;
    const Presented& presented = keys[request_key[event.request_id]];
    EXPECT_EQ(event.outcome, presented.outcome);
    EXPECT_EQ(event.tenant.value_or("-"), presented.tenant);
    // The same key always has the same fingerprint, and it is an HMAC, not sha256(key).
    EXPECT_EQ(event.key_fingerprint, audit_fingerprint(presented.key));
    ++by_tenant[presented.tenant][presented.outcome];
    ++by_fingerprint[audit_fingerprint(presented.key)][presented.outcome];
  }
  const std::string audit_text = read_file(audit_path_);
  for (const Presented& presented : keys) {
    EXPECT_EQ(audit_text.find(sha256_prefix(presented.key)), std::string::npos);
  }

  // `llmrt audit` agrees.
  CliRunner cli;
  const CliResult json_result = cli.run({"audit", audit_path_.string(), "--json"});
  see(json_result);
  ASSERT_EQ(json_result.exit_code, 0) << json_result.err;
  EXPECT_EQ(json_result.err, "");
  const json::object summary = parse_object(json_result.out);
  EXPECT_EQ(summary.at("events").as_int64(), static_cast<std::int64_t>(kTotal));
  EXPECT_EQ(summary.at("malformed_lines").as_int64(), 0);
  EXPECT_EQ(counts_by(summary, "tenants", "tenant"), by_tenant);
  EXPECT_EQ(counts_by(summary, "fingerprints", "key_fingerprint"), by_fingerprint);
  for (const json::value& entry : summary.at("tenants").as_array()) {
    const json::object& object = entry.as_object();
    EXPECT_LE(object.at("first").as_string(), object.at("last").as_string());
  }
  const CliResult text_result = cli.run({"audit", audit_path_.string()});
  see(text_result);
  ASSERT_EQ(text_result.exit_code, 0) << text_result.err;
  EXPECT_NE(text_result.out.find("1600 events, 0 malformed lines"), std::string::npos)
      << text_result.out;
  EXPECT_TRUE(std::regex_search(
      text_result.out, std::regex("\\nacme +" +
                                  std::to_string(by_tenant["acme"]["ok"] +
                                                 by_tenant["acme"]["session_key_expired"]) +
                                  " +ok=")))
      << text_result.out;
}

TEST_F(SessionTest, AuditCommandReportsMalformedLinesAndGoesOn) {
  std::string text;
  text += serve::audit_line(sample_event("acme", "ok"));
  text += "{\n";  // line 2
  text += serve::audit_line(sample_event("acme", "session_key_expired"));
  text += "not json at all\n";                       // line 4
  text += "\n";                                      // line 5
  text += "{\"time\": \"2026-03-01T12:00:00Z\"}\n";  // line 6
  text += serve::audit_line(sample_event("beta", "ok"));
  const std::string cut = serve::audit_line(sample_event("beta", "ok"));
  text += cut.substr(0, cut.size() / 2);  // line 8: cut short by a crash
  write_text(audit_path_, text);

  CliRunner cli;
  const CliResult result = cli.run({"audit", "--json", audit_path_.string()});
  see(result);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const int line : {2, 4, 5, 6, 8}) {
    EXPECT_NE(result.err.find("line " + std::to_string(line) + ": malformed audit line"),
              std::string::npos)
        << result.err;
  }
  EXPECT_EQ(result.err.find("not json at all"), std::string::npos);  // reported, not echoed
  const json::object summary = parse_object(result.out);
  EXPECT_EQ(summary.at("lines").as_int64(), 8);
  EXPECT_EQ(summary.at("events").as_int64(), 3);
  EXPECT_EQ(summary.at("malformed_lines").as_int64(), 5);
  EXPECT_EQ(summary.at("malformed").as_array().size(), 5u);
  const auto tenants = counts_by(summary, "tenants", "tenant");
  EXPECT_EQ(tenants.at("acme").at("ok"), 1);
  EXPECT_EQ(tenants.at("acme").at("session_key_expired"), 1);
  EXPECT_EQ(tenants.at("beta").at("ok"), 1);

  // Standard input works too, and a missing file is an error.
  const CliResult from_stdin = cli.run({"audit"}, serve::audit_line(sample_event("acme", "ok")));
  see(from_stdin);
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_NE(from_stdin.out.find("1 events, 0 malformed lines"), std::string::npos);
  const CliResult missing = cli.run({"audit", (dir_.path() / "none.log").string()});
  see(missing);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("llmrt: error: cannot open the audit log"), std::string::npos);
}

TEST_F(SessionTest, KeysNewMasterKeyAndDeriveFromTheCommandLine) {
  CliRunner cli;
  const std::filesystem::path master = dir_.path() / "cli-master.key";
  const CliResult created = cli.run({"keys", "new-master-key", master.string()});
  see(created);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "");  // the key is in the file only
  EXPECT_EQ(mode_of(master), 0600u);
  const std::string master_hex = trimmed(read_file(master));
  watch_secret(master_hex);
  EXPECT_TRUE(std::regex_match(master_hex, std::regex("[0-9a-f]{64}")));
  const CliResult again = cli.run({"keys", "new-master-key", master.string()});
  see(again);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(trimmed(read_file(master)), master_hex);

  const CliResult derived = cli.run(
      {"keys", "derive", "--tenant", "acme", "--ttl", "7d", "--master-key-file", master.string()});
  see(derived.err);  // stdout is the session key, printed on purpose
  ASSERT_EQ(derived.exit_code, 0) << derived.err;
  const std::string key = trimmed(derived.out);
  EXPECT_EQ(derived.out, key + "\n");
  const serve::SessionKeys keys(serve::read_secret_key_file(master, "master key"));
  const serve::SessionKeyCheck check = keys.verify(key, unix_now());
  EXPECT_EQ(check.status, serve::SessionKeyStatus::valid);
  EXPECT_EQ(check.claims.tenant, "acme");
  EXPECT_NEAR(static_cast<double>(check.claims.expires - unix_now()), 7 * 86400.0, 60.0);
  EXPECT_EQ(derived.out.find(master_hex), std::string::npos);

  // The default lifetime is 1h.
  const CliResult default_ttl =
      cli.run({"keys", "derive", "--tenant", "beta", "--master-key-file", master.string()});
  ASSERT_EQ(default_ttl.exit_code, 0) << default_ttl.err;
  EXPECT_NEAR(static_cast<double>(keys.verify(trimmed(default_ttl.out), unix_now()).claims.expires -
                                  unix_now()),
              3600.0, 60.0);

  struct Bad {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::filesystem::path link = dir_.path() / "cli-link.key";
  std::filesystem::create_symlink(master, link);
  const std::vector<Bad> bad{
      {{"--tenant", "acme", "--ttl", "91d", "--master-key-file", master.string()},
       2,
       "at most 90d"},
      {{"--tenant", "acme", "--ttl", "1y", "--master-key-file", master.string()}, 2, "lifetime"},
      {{"--tenant", "a.b", "--master-key-file", master.string()}, 2, "invalid tenant name"},
      {{"--master-key-file", master.string()}, 2, "--tenant"},
      {{"--tenant", "acme"}, 2, "--master-key-file"},
      {{"--tenant", "acme", "--master-key-file", link.string()}, 1, "symbolic link"},
  };
  for (const Bad& b : bad) {
    std::vector<std::string> args{"keys", "derive"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    const CliResult result = cli.run(args);
    see(result);
    EXPECT_EQ(result.exit_code, b.exit_code) << b.message << ": " << result.err;
    EXPECT_NE(result.err.find(b.message), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
  }
  ::chmod(master.c_str(), 0644);
  const CliResult too_open =
      cli.run({"keys", "derive", "--tenant", "acme", "--master-key-file", master.string()});
  see(too_open);
  EXPECT_EQ(too_open.exit_code, 1);
  EXPECT_NE(too_open.err.find("permissions 0644"), std::string::npos) << too_open.err;
  EXPECT_EQ(too_open.out, "");
}

}  // namespace
}  // namespace llmrt::test::session_test
