// An expired credential is never sent: dispatch refuses it before the plugin runs, whatever source
// produced it, and says when it expired without showing it.
#include <gtest/gtest.h>
#include <llmrt/error.hpp>

#include "credential.hpp"
#include "credentials/rfc3339.hpp"
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

// "9999-12-31T23:59:59Z" is a common way to say "never expires". It lies past what the clock can
// hold (int64 nanoseconds: 1677-2262), and once wrapped around into 1816, so the credential was
// refused as long expired. It is clamped to the latest instant instead.
TEST(CredentialExpiry, Year9999ExpiryIsTheFarFutureNotAWrappedPast) {
  using credentials::parse_rfc3339;
  const auto never = parse_rfc3339("9999-12-31T23:59:59Z");
  ASSERT_TRUE(never.has_value());
  EXPECT_EQ(*never, Credential::Clock::time_point::max());
  EXPECT_GT(*never, *parse_rfc3339("2262-01-01T00:00:00Z"));
  EXPECT_NO_THROW(refuse_if_expired(credential_expiring_at(*never), KeySource::command,
                                    Credential::Clock::now()));
  // Every representable date still parses exactly, and the fraction is kept.
  EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:16Z"), Credential::Clock::from_time_t(9223372036));
  EXPECT_EQ(parse_rfc3339("2030-01-01T00:00:00.5+01:00"),
            Credential::Clock::from_time_t(1893456000) - 1h + 500ms);
}

TEST(CredentialExpiry, ExpiryBeforeTheClocksRangeIsLongExpired) {
  const auto ancient = credentials::parse_rfc3339("0001-01-01T00:00:00Z");
  ASSERT_TRUE(ancient.has_value());
  EXPECT_EQ(*ancient, Credential::Clock::time_point::min());
  EXPECT_THROW(refuse_if_expired(credential_expiring_at(*ancient), KeySource::command,
                                 Credential::Clock::now()),
               Error);
}

}  // namespace
}  // namespace llmrt
