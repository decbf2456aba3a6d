// An expired credential is never sent: dispatch refuses it before the plugin runs, whatever source
// produced it, and says when it expired without showing it.
#include <gtest/gtest.h>
#include <llmrt/error.hpp>

#include "credential.hpp"
#include "dispatch.hpp"

namespace llmrt {
namespace {

using namespace std::chrono_literals;

Credential credential_expiring_at(Credential::Clock::time_point when) {
  return Credential{Key("sk-expiring-secret-1"), Key("token-secret-2"), when};
}

TEST(CredentialExpiry, ExpiredCredentialIsRefusedNamingTheTimeButNotTheKey) {
  const auto expiry = Credential::Clock::from_time_t(1893456000);  // 2030-01-01T00:00:00Z
  const Credential credential = credential_expiring_at(expiry);
  try {
    refuse_if_expired(credential, KeySource::command, expiry + 1s);
    FAIL() << "an expired credential was accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ErrorCode::key_invalid);
    EXPECT_NE(message.find("2030-01-01T00:00:00Z"), std::string::npos) << message;
    EXPECT_NE(message.find("command"), std::string::npos) << message;
    EXPECT_NE(message.find("was not sent"), std::string::npos) << message;
    EXPECT_EQ(message.find("sk-expiring-secret-1"), std::string::npos) << message;
    EXPECT_EQ(message.find("token-secret-2"), std::string::npos) << message;
  }
}

TEST(CredentialExpiry, TheExpiryInstantItselfIsAlreadyTooLate) {
  const auto expiry = Credential::Clock::from_time_t(1893456000);
  EXPECT_THROW(refuse_if_expired(credential_expiring_at(expiry), KeySource::command, expiry),
               Error);
}

TEST(CredentialExpiry, ValidAndNonExpiringCredentialsPass) {
  const auto now = Credential::Clock::from_time_t(1893456000);
  EXPECT_NO_THROW(refuse_if_expired(credential_expiring_at(now + 1s), KeySource::command, now));
  const Credential forever{Key("sk-forever"), {}, std::nullopt};
  EXPECT_NO_THROW(refuse_if_expired(forever, KeySource::per_call, now + 24h * 365 * 100));
}

}  // namespace
}  // namespace llmrt
