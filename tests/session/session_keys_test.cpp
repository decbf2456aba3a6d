// core/serve/session_keys: issuing and verifying session keys, every kind of bad key, lifetimes,
// tenant names, and the safety rules of master key files.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <sys/stat.h>
#include <llmrt/error.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "session_keys.hpp"
#include "test_support.hpp"

namespace llmrt::test {
namespace {

using serve::SecretBytes;
using serve::SessionKeys;
using serve::SessionKeyStatus;

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15

std::string issue(const SessionKeys& keys, const std::string& tenant, std::int64_t ttl = 3600,
                  std::int64_t now = kNow) {
  return std::string(keys.issue(tenant, ttl, now).reveal());
}

SessionKeyStatus status_of(const SessionKeys& keys, std::string_view token,
                           std::int64_t now = kNow) {
  return keys.verify(token, now).status;
}

std::string text_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat status {};
  ::lstat(path.c_str(), &status);
  return status.st_mode & 07777;
}

// The fields of a session key: prefix-less tenant, expires, key_id, mac.
std::vector<std::string> fields_of(const std::string& key) {
  std::vector<std::string> fields;
  std::string rest = key.substr(serve::kSessionKeyPrefix.size());
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos;) {
    fields.push_back(rest.substr(0, dot));
    rest = rest.substr(dot + 1);
  }
  fields.push_back(rest);
  return fields;
}

std::string join(const std::vector<std::string>& fields) {
  std::string key(serve::kSessionKeyPrefix);
  for (std::size_t i = 0; i < fields.size(); ++i) key += (i ? "." : "") + fields[i];
  return key;
}

class SessionKeysTest : public ::testing::Test {
 protected:
  SecretBytes master_ = SecretBytes::random();
  SessionKeys keys_{master_};
};

TEST_F(SessionKeysTest, IssuedKeyVerifiesWithItsClaims) {
  const std::string key = issue(keys_, "acme", 3600);
  EXPECT_TRUE(std::regex_match(
      key, std::regex(R"(llmrt-sk1\.acme\.1800003600\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43})")))
      << key;
  const serve::SessionKeyCheck check = keys_.verify(key, kNow);
  EXPECT_EQ(check.status, SessionKeyStatus::valid);
  EXPECT_EQ(check.claims.tenant, "acme");
  EXPECT_EQ(check.claims.expires, kNow + 3600);
  EXPECT_EQ(check.claims.key_id, fields_of(key)[2]);
}

TEST_F(SessionKeysTest, KeyIdsAreRandom) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(fields_of(issue(keys_, "acme"))[2]);
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(SessionKeysTest, ReplicasWithTheSameMasterKeyAgree) {
  const std::string key = issue(keys_, "acme");
  const SessionKeys replica(master_);  // another process, the same master key
  EXPECT_EQ(status_of(replica, key), SessionKeyStatus::valid);
}

// The MAC is HMAC-SHA256 under HKDF-SHA256(master, "llmrt session keys", "llmrt-sk1"), as
// documented: recomputed here with OpenSSL's one-shot EVP_PKEY HKDF and HMAC().
TEST_F(SessionKeysTest, MacIsTheDocumentedConstruction) {
  const std::string key = issue(keys_, "acme-42");
  unsigned char derived[32];
  std::size_t derived_size = sizeof derived;
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  ASSERT_NE(context, nullptr);
  ASSERT_EQ(EVP_PKEY_derive_init(context), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set1_hkdf_salt(
                context, reinterpret_cast<const unsigned char*>("llmrt session keys"), 18),
            1);
  ASSERT_EQ(EVP_PKEY_CTX_set1_hkdf_key(context, master_.data(), 32), 1);
  ASSERT_EQ(
      EVP_PKEY_CTX_add1_hkdf_info(context, reinterpret_cast<const unsigned char*>("llmrt-sk1"), 9),
      1);
  ASSERT_EQ(EVP_PKEY_derive(context, derived, &derived_size), 1);
  EVP_PKEY_CTX_free(context);

  const std::string signed_part = key.substr(0, key.rfind('.'));
  unsigned char mac[32];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), derived, 32, reinterpret_cast<const unsigned char*>(signed_part.data()),
       signed_part.size(), mac, &mac_size);
  ASSERT_EQ(mac_size, 32u);
  unsigned char encoded[64] = {};
  EVP_EncodeBlock(encoded, mac, 32);  // standard base64, padded
  std::string expected(reinterpret_cast<char*>(encoded));
  while (!expected.empty() && expected.back() == '=') expected.pop_back();
  for (char& c : expected) c = c == '+' ? '-' : c == '/' ? '_' : c;
  EXPECT_EQ(key.substr(key.rfind('.') + 1), expected);
}

TEST_F(SessionKeysTest, ForgedMacIsRefused) {
  const std::vector<std::string> fields = fields_of(issue(keys_, "acme"));
  std::vector<std::string> forged = fields;
  forged[3] = std::string(43, 'A');
  EXPECT_EQ(status_of(keys_, join(forged)), SessionKeyStatus::bad_mac);
  forged[3] = fields_of(issue(keys_, "acme"))[3];  // a real MAC, of another key
  EXPECT_EQ(status_of(keys_, join(forged)), SessionKeyStatus::bad_mac);
}

TEST_F(SessionKeysTest, KeyOfAnotherMasterKeyIsRefused) {
  const SessionKeys other(SecretBytes::random());
  EXPECT_EQ(status_of(keys_, issue(other, "acme")), SessionKeyStatus::bad_mac);
}

TEST_F(SessionKeysTest, EveryFlippedBitIsRefused) {
  const std::string key = issue(keys_, "acme");
  std::size_t tried = 0;
  for (std::size_t i = 0; i < key.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = key;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      const serve::SessionKeyCheck check = keys_.verify(flipped, kNow);
      EXPECT_TRUE(check.status == SessionKeyStatus::malformed ||
                  check.status == SessionKeyStatus::bad_mac)
          << "byte " << i << " bit " << bit << ": " << to_string(check.status);
      EXPECT_TRUE(check.claims.tenant.empty());
      ++tried;
    }
  }
  EXPECT_EQ(tried, key.size() * 8);
}

TEST_F(SessionKeysTest, AlteredFieldsAreRefused) {
  const std::vector<std::string> fields = fields_of(issue(keys_, "acme", 60));
  auto altered = [&](std::size_t index, const std::string& value) {
    std::vector<std::string> copy = fields;
    copy[index] = value;
    return status_of(keys_, join(copy));
  };
  EXPECT_EQ(altered(0, "acmf"), SessionKeyStatus::bad_mac);
  EXPECT_EQ(altered(1, std::to_string(kNow + 999999)), SessionKeyStatus::bad_mac);  // extended
  EXPECT_EQ(altered(2, std::string(16, '0')), SessionKeyStatus::bad_mac);
  EXPECT_EQ(altered(1, "0" + fields[1]), SessionKeyStatus::malformed);  // leading zero
  EXPECT_EQ(altered(1, fields[1] + "x"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(1, "-1"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(2, "ABCDEF0123456789"), SessionKeyStatus::malformed);  // uppercase key id
  EXPECT_EQ(altered(2, fields[2] + "0"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(3, fields[3] + "A"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(3, fields[3].substr(0, 42) + "="), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(3, fields[3].substr(0, 42) + "+"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(0, "a.b"), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(0, ""), SessionKeyStatus::malformed);
  EXPECT_EQ(altered(0, std::string(65, 'a')), SessionKeyStatus::malformed);
}

TEST_F(SessionKeysTest, OtherTenantSwapIsRefused) {
  // A valid key of tenant "acme" presented with its tenant field swapped for "beta".
  std::vector<std::string> fields = fields_of(issue(keys_, "acme"));
  fields[0] = "beta";
  EXPECT_EQ(status_of(keys_, join(fields)), SessionKeyStatus::bad_mac);
  fields[0] = "acme2";
  EXPECT_EQ(status_of(keys_, join(fields)), SessionKeyStatus::bad_mac);
}

TEST_F(SessionKeysTest, ExpiryIsCheckedOnlyAfterTheMac) {
  const std::string key = issue(keys_, "acme", 60);
  EXPECT_EQ(status_of(keys_, key, kNow + 59), SessionKeyStatus::valid);
  const serve::SessionKeyCheck expired = keys_.verify(key, kNow + 60);
  EXPECT_EQ(expired.status, SessionKeyStatus::expired);
  EXPECT_EQ(expired.claims.tenant, "acme");
  EXPECT_EQ(status_of(keys_, key, kNow + 90 * 86400), SessionKeyStatus::expired);
  // A forged key with a past expiry is forged, not expired.
  std::vector<std::string> fields = fields_of(key);
  fields[3][0] = fields[3][0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(status_of(keys_, join(fields), kNow + 3600), SessionKeyStatus::bad_mac);
}

TEST_F(SessionKeysTest, TruncatedAtEveryLengthIsRefused) {
  const std::string key = issue(keys_, "acme");
  for (std::size_t length = 0; length < key.size(); ++length) {
    EXPECT_EQ(status_of(keys_, key.substr(0, length)), SessionKeyStatus::malformed)
        << "truncated to " << length;
    // Losing the front is no better.
    EXPECT_EQ(status_of(keys_, key.substr(key.size() - length)), SessionKeyStatus::malformed)
        << "last " << length;
  }
}

TEST_F(SessionKeysTest, ExtraFieldsAreRefused) {
  const std::string key = issue(keys_, "acme");
  std::vector<std::string> fields = fields_of(key);
  EXPECT_EQ(status_of(keys_, key + ".x"), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, key + "."), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, key + " "), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, key + std::string(1, '\0')), SessionKeyStatus::malformed);
  fields.insert(fields.begin() + 1, "x");
  EXPECT_EQ(status_of(keys_, join(fields)), SessionKeyStatus::malformed);
  fields = fields_of(key);
  fields.insert(fields.begin(), "extra");
  EXPECT_EQ(status_of(keys_, join(fields)), SessionKeyStatus::malformed);
}

TEST_F(SessionKeysTest, WrongPrefixOrEmptyIsMalformed) {
  const std::string key = issue(keys_, "acme");
  const std::string rest = key.substr(serve::kSessionKeyPrefix.size());
  for (const std::string prefix : {"llmrt-sk2.", "LLMRT-SK1.", "llmrt-sk1-", " llmrt-sk1.", ""}) {
    EXPECT_EQ(status_of(keys_, prefix + rest), SessionKeyStatus::malformed) << prefix;
  }
  EXPECT_EQ(status_of(keys_, ""), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, "llmrt-sk1."), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, "llmrt-sk1...."), SessionKeyStatus::malformed);
  EXPECT_EQ(status_of(keys_, std::string(4096, 'x')), SessionKeyStatus::malformed);
}

TEST_F(SessionKeysTest, PreviousMasterKeyIsAcceptedDuringAnOverlap) {
  const SecretBytes next_master = SecretBytes::random();
  const SessionKeys next(next_master);
  const SessionKeys overlap(next_master, &master_);
  const std::string old_key = issue(keys_, "acme");
  const std::string new_key = issue(next, "acme");
  EXPECT_EQ(status_of(next, old_key), SessionKeyStatus::bad_mac);  // rotated: old keys are dead
  EXPECT_EQ(status_of(overlap, old_key), SessionKeyStatus::valid);
  EXPECT_EQ(status_of(overlap, new_key), SessionKeyStatus::valid);
  // New keys are always made with the current master key.
  EXPECT_EQ(status_of(next, issue(overlap, "beta")), SessionKeyStatus::valid);
}

TEST_F(SessionKeysTest, IssueRefusesBadTenantsAndLifetimes) {
  EXPECT_THROW(keys_.issue("a.b", 60, kNow), Error);
  EXPECT_THROW(keys_.issue("", 60, kNow), Error);
  EXPECT_THROW(keys_.issue(std::string(65, 'a'), 60, kNow), Error);
  EXPECT_THROW(keys_.issue("acme", 0, kNow), Error);
  EXPECT_THROW(keys_.issue("acme", serve::kMaxSessionTtlSeconds + 1, kNow), Error);
  EXPECT_NO_THROW(keys_.issue(std::string(64, 'Z'), serve::kMaxSessionTtlSeconds, kNow));
  EXPECT_NO_THROW(keys_.issue("A-z_0-9", 1, kNow));
}

TEST(SessionKeyText, TtlParsing) {
  EXPECT_EQ(serve::parse_ttl("90s"), 90);
  EXPECT_EQ(serve::parse_ttl("30m"), 1800);
  EXPECT_EQ(serve::parse_ttl("1h"), 3600);
  EXPECT_EQ(serve::parse_ttl("7d"), 7 * 86400);
  EXPECT_EQ(serve::parse_ttl("90d"), 90 * 86400);
  EXPECT_EQ(serve::parse_ttl("2160h"), 90 * 86400);
  for (const char* bad : {"", "1", "h", "0h", "00", "91d", "2161h", "-1h", "+1h", " 1h", "1h ",
                          "1H", "1.5h", "1x", "1hh", "99999999999d", "1e3s"}) {
    try {
      serve::parse_ttl(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::usage) << bad;
    }
  }
}

TEST(SessionKeyText, TenantNames) {
  EXPECT_TRUE(serve::is_tenant_name("acme"));
  EXPECT_TRUE(serve::is_tenant_name("A-z_09"));
  EXPECT_TRUE(serve::is_tenant_name(std::string(64, 'a')));
  EXPECT_FALSE(serve::is_tenant_name(std::string(65, 'a')));
  EXPECT_FALSE(serve::is_tenant_name(""));
  EXPECT_FALSE(serve::is_tenant_name("a.b"));
  EXPECT_FALSE(serve::is_tenant_name("a b"));
  EXPECT_FALSE(serve::is_tenant_name("a:b"));
  EXPECT_THROW(serve::validate_tenant_name("é"), Error);
}

TEST(SessionKeyText, SubkeysDependOnInfoAndSecret) {
  const SecretBytes master = SecretBytes::random();
  const SecretBytes a = serve::derive_subkey(master, "llmrt-sk1");
  const SecretBytes b = serve::derive_subkey(master, "llmrt audit");
  const SecretBytes a2 = serve::derive_subkey(master, "llmrt-sk1");
  EXPECT_NE(std::memcmp(a.data(), b.data(), 32), 0);
  EXPECT_EQ(std::memcmp(a.data(), a2.data(), 32), 0);
  EXPECT_NE(std::memcmp(a.data(), master.data(), 32), 0);
}

TEST(MasterKeyFile, CreatedPrivateAndReadBack) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  serve::create_secret_key_file(path, "master key");
  EXPECT_EQ(mode_of(path), 0600u);
  const std::string text = text_of(path);
  EXPECT_TRUE(std::regex_match(text, std::regex("[0-9a-f]{64}\n"))) << text.size();
  const SecretBytes read = serve::read_secret_key_file(path, "master key");
  for (std::size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(read.data()[i], std::stoi(text.substr(2 * i, 2), nullptr, 16));
  }
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(MasterKeyFile, NeverReplacesAnExistingFile) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  serve::create_secret_key_file(path, "master key");
  const std::string before = text_of(path);
  try {
    serve::create_secret_key_file(path, "master key");
    ADD_FAILURE() << "an existing master key file was replaced";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::keys_file);
    EXPECT_NE(std::string(error.what()).find("already exists"), std::string::npos);
  }
  EXPECT_EQ(text_of(path), before);
  std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "dangling");
  EXPECT_THROW(serve::create_secret_key_file(dir.path() / "dangling", "master key"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "elsewhere"));
}

TEST(MasterKeyFile, GroupOrOtherPermissionsAreRefused) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  serve::create_secret_key_file(path, "master key");
  for (const mode_t mode : {0644, 0640, 0604, 0660, 0602, 0610}) {
    ::chmod(path.c_str(), mode);
    try {
      serve::read_secret_key_file(path, "master key");
      ADD_FAILURE() << "mode " << std::oct << mode << " was accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::keys_file);
      const std::string message = error.what();
      EXPECT_NE(message.find("too open"), std::string::npos) << message;
      EXPECT_NE(message.find("chmod 600"), std::string::npos) << message;
      EXPECT_EQ(message.find(text_of(path).substr(0, 64)), std::string::npos);
    }
  }
  ::chmod(path.c_str(), 0400);
  EXPECT_NO_THROW(serve::read_secret_key_file(path, "master key"));
}

TEST(MasterKeyFile, SymlinksAndOtherFilesAreRefused) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  serve::create_secret_key_file(path, "master key");
  const auto link = dir.path() / "link.key";
  std::filesystem::create_symlink(path, link);
  try {
    serve::read_secret_key_file(link, "master key");
    ADD_FAILURE() << "a symbolic link was followed";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("symbolic link"), std::string::npos);
  }
  std::filesystem::create_directory(dir.path() / "dir");
  ::chmod((dir.path() / "dir").c_str(), 0700);
  EXPECT_THROW(serve::read_secret_key_file(dir.path() / "dir", "master key"), Error);
  EXPECT_THROW(serve::read_secret_key_file(dir.path() / "missing", "master key"), Error);
}

TEST(MasterKeyFile, MalformedContentsAreRefused) {
  TempDir dir;
  const auto path = dir.path() / "master.key";
  const std::string good(64, 'a');
  const std::vector<std::string> bad{"",
                                     std::string(63, 'a') + "\n",
                                     std::string(65, 'a') + "\n",
                                     std::string(63, 'a') + "g\n",
                                     good + "\n\n",
                                     " " + good,
                                     good + " \n",
                                     std::string(200, 'a')};
  for (const std::string& text : bad) {
    std::filesystem::remove(path);
    {
      std::ofstream out(path, std::ios::binary);
      out << text;
    }
    ::chmod(path.c_str(), 0600);
    EXPECT_THROW(serve::read_secret_key_file(path, "master key"), Error) << text.size();
  }
  for (const std::string& text : {good, good + "\n", good + "\r\n", std::string(64, 'F')}) {
    std::filesystem::remove(path);
    {
      std::ofstream out(path, std::ios::binary);
      out << text;
    }
    ::chmod(path.c_str(), 0600);
    EXPECT_NO_THROW(serve::read_secret_key_file(path, "master key")) << text.size();
  }
}

}  // namespace
}  // namespace llmrt::test
