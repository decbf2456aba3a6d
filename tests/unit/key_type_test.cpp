// llmrt::Key and validate_key: what the secret type promises. A Key cannot be copied by accident or
// printed, shows only a SHA-256 fingerprint, and leaves nothing behind when moved; validation
// refuses every byte that does not belong in an API key and never quotes the key back.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <llmrt/error.hpp>
#include <llmrt/key.hpp>

#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace llmrt {
namespace {

// ---- The type itself: move-only and unprintable (checked at compile time) -----------------------

template <class T>
concept Streamable = requires(std::ostream& os, const T& value) {
  os << value;
};

static_assert(Streamable<std::string>, "the Streamable check itself must work");
static_assert(!Streamable<Key>, "a Key must not be printable with operator<<");

static_assert(!std::is_copy_constructible_v<Key>, "a Key must not be copyable");
static_assert(!std::is_copy_assignable_v<Key>, "a Key must not be copy-assignable");
static_assert(std::is_nothrow_move_constructible_v<Key>, "a Key moves without throwing");
static_assert(std::is_nothrow_move_assignable_v<Key>, "a Key move-assigns without throwing");
// No implicit way out to a string either.
static_assert(!std::is_convertible_v<const Key&, std::string>);
static_assert(!std::is_convertible_v<const Key&, std::string_view>);
static_assert(!std::is_convertible_v<const Key&, const char*>);

// SHA-256 computed straight through OpenSSL, independently of the runtime's helper.
std::string openssl_sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr), 1);
  std::string hex;
  char pair[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", digest[i]);
    hex += pair;
  }
  return hex;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

TEST(KeyType, MovedFromKeyIsEmptyAndTheTargetHoldsTheBytes) {
  Key original("sk-move-me-123");
  Key moved(std::move(original));
  EXPECT_TRUE(original.empty());  // NOLINT(bugprone-use-after-move): that is the point
  EXPECT_EQ(original.size(), 0u);
  EXPECT_TRUE(original.reveal().empty());
  EXPECT_EQ(moved.reveal(), "sk-move-me-123");

  Key assigned("sk-old-value");
  assigned = std::move(moved);
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.reveal().empty());
  EXPECT_EQ(assigned.reveal(), "sk-move-me-123");
  EXPECT_EQ(assigned.size(), std::string_view("sk-move-me-123").size());
}

TEST(KeyType, DefaultAndEmptyKeysAreEmpty) {
  EXPECT_TRUE(Key().empty());
  EXPECT_TRUE(Key("").empty());
  EXPECT_TRUE(Key(std::string_view()).empty());
}

TEST(KeyType, CloneIsAnIndependentCopy) {
  Key original("sk-clone-me");
  Key copy = original.clone();
  EXPECT_EQ(copy.reveal(), "sk-clone-me");
  EXPECT_NE(copy.reveal().data(), original.reveal().data());
  Key gone = std::move(original);
  EXPECT_EQ(copy.reveal(), "sk-clone-me");
}

TEST(KeyType, KeepsEveryByteIncludingNul) {
  const std::string bytes("sk\0nul", 6);
  Key key{std::string_view(bytes)};
  EXPECT_EQ(key.size(), 6u);
  EXPECT_EQ(key.reveal(), bytes);
}

// ---- Fingerprints ------------------------------------------------------------------------------

TEST(KeyFingerprint, IsSha256PrefixAndTwelveLowercaseHexDigits) {
  for (std::string_view value : {"sk-test-1", "a", "sk-proj-0123456789abcdefABCDEF"}) {
    SCOPED_TRACE(value);
    const std::string fingerprint = Key(value).fingerprint();
    ASSERT_EQ(fingerprint.size(), std::string_view("sha256:").size() + 12);
    EXPECT_TRUE(fingerprint.starts_with("sha256:"));
    for (char c : fingerprint.substr(7)) {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << fingerprint;
    }
  }
}

TEST(KeyFingerprint, MatchesOpenSslSha256OfTheKey) {
  for (std::string_view value : {"sk-test-1", "sk-test-2", "x", "sk-proj-0123456789abcdefABCDEF"}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(Key(value).fingerprint(), "sha256:" + openssl_sha256_hex(value).substr(0, 12));
    EXPECT_EQ(sha256_prefix(value), openssl_sha256_hex(value).substr(0, 12));
  }
  // A published test vector: SHA-256("abc") = ba7816bf8f01cfea...
  EXPECT_EQ(sha256_prefix("abc"), "ba7816bf8f01");
  EXPECT_EQ(Key("abc").fingerprint(), "sha256:ba7816bf8f01");
}

TEST(KeyFingerprint, DistinctKeysHaveDistinctFingerprints) {
  EXPECT_NE(Key("sk-tenant-a").fingerprint(), Key("sk-tenant-b").fingerprint());
  EXPECT_EQ(Key("sk-tenant-a").fingerprint(), Key("sk-tenant-a").fingerprint());
}

TEST(KeyFingerprint, NeverContainsTheKey) {
  const Key key("sk-fingerprint-secret");
  EXPECT_FALSE(contains(key.fingerprint(), key.reveal()));
}

// ---- validate_key ------------------------------------------------------------------------------

// Calls validate_key and returns the Error it throws (failing the test when it does not throw).
Error validation_error(std::string_view key, std::string_view what = "the test key") {
  try {
    validate_key(key, what);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "validate_key accepted a key it should refuse (" << key.size() << " bytes)";
  return Error(ErrorCode::usage, "");
}

struct BadKey {
  std::string description;
  std::string key;
};

TEST(ValidateKey, RejectsEveryForbiddenByteWithKeyInvalid) {
  const std::string secret = "sk-SECRETabc123";
  const std::vector<BadKey> bad = {
      {"space", secret + " tail"},
      {"carriage return", secret + "\rtail"},
      {"line feed", secret + "\ntail"},
      {"trailing line feed", secret + "\n"},
      {"NUL", secret + std::string(1, '\0') + "tail"},
      {"tab", secret + "\ttail"},
      {"DEL", secret + "\x7f" + "tail"},
      {"escape", secret + "\x1b" + "tail"},
      {"non-ASCII (UTF-8 e-acute)", secret + "\xc3\xa9" + "tail"},
      {"byte 0x80", secret + "\x80" + "tail"},
      {"byte 0xff", secret + "\xff" + "tail"},
  };
  for (const BadKey& entry : bad) {
    SCOPED_TRACE(entry.description);
    const Error error = validation_error(entry.key, "the key from TEST_VAR");
    EXPECT_EQ(error.code(), ErrorCode::key_invalid);
    const std::string message = error.what();
    EXPECT_TRUE(contains(message, "the key from TEST_VAR")) << message;
    EXPECT_FALSE(contains(message, secret)) << message;
    EXPECT_FALSE(contains(message, "SECRET")) << message;
    EXPECT_FALSE(contains(message, "tail")) << message;
  }
}

TEST(ValidateKey, RejectsAnEmptyKey) {
  const Error error = validation_error("", "the key given for this call");
  EXPECT_EQ(error.code(), ErrorCode::key_invalid);
  EXPECT_TRUE(contains(error.what(), "the key given for this call")) << error.what();
  EXPECT_TRUE(contains(error.what(), "empty")) << error.what();
}

TEST(ValidateKey, RejectsAKeyOneByteTooLong) {
  std::string key = "sk-LONGSECRET";
  key.resize(kMaxKeySize + 1, 'k');
  ASSERT_EQ(key.size(), 4097u);
  const Error error = validation_error(key);
  EXPECT_EQ(error.code(), ErrorCode::key_invalid);
  const std::string message = error.what();
  EXPECT_TRUE(contains(message, "too long")) << message;
  EXPECT_FALSE(contains(message, "LONGSECRET")) << message;
  EXPECT_FALSE(contains(message, "kkkkkkkk")) << message;
}

TEST(ValidateKey, AcceptsTheLongestKeyOfEveryPrintableByte) {
  EXPECT_EQ(kMaxKeySize, 4096u);
  std::string key;
  for (std::size_t i = 0; key.size() < kMaxKeySize; ++i) {
    key += static_cast<char>(0x21 + i % (0x7E - 0x21 + 1));  // '!' .. '~'
  }
  ASSERT_EQ(key.size(), 4096u);
  EXPECT_NO_THROW(validate_key(key, "the longest key"));
}

TEST(ValidateKey, AcceptsOrdinaryKeys) {
  for (std::string_view key : {"x", "sk-proj-abc_DEF.123", "AIzaSyA-0123456789", "~!@#$%^&*()"}) {
    SCOPED_TRACE(key);
    EXPECT_NO_THROW(validate_key(key, "a key"));
  }
}

}  // namespace
}  // namespace llmrt

namespace llmrt {
namespace {

// is_valid_key is the fast path validate_key takes: the two must never disagree.
TEST(KeyValidation, IsValidKeyAgreesWithValidateKey) {
  const std::string samples[] = {"sk-ok",
                                 "",
                                 "sk has space",
                                 "sk\nline",
                                 std::string(4096, 'k'),
                                 std::string(4097, 'k'),
                                 "caf\xC3\xA9",
                                 std::string("nul\0byte", 8),
                                 "~!@#$%^&*()_+"};
  for (const std::string& key : samples) {
    bool threw = false;
    try {
      validate_key(key, "the sample");
    } catch (const Error&) {
      threw = true;
    }
    EXPECT_EQ(is_valid_key(key), !threw) << "a key of " << key.size() << " bytes";
  }
}

// Provider keys of every shape look like keys; names, however long, do not (they are quoted).
TEST(KeyLikeNames, KeysLookLikeKeysAndNamesDoNot) {
  for (const std::string key :
       {"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2r",     // OpenAI
        "sk-ant-api03-xY9_zW8-vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7zY6xW5vU4tS3r",  // Anthropic
        "AIzaSyD3xQ8mN2vB7cL4kJ9hG6fD1sA5pO0iU3y",                              // Google
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",                              // Hugging Face
        "3f2a9c01b7de4410aa55e0c1d2b3f4a59687c8d9e0f1a2b3c4d5e6f708192a3b",     // 64 hex digits
        "sk-SECRETSECRET1234567890abcdef"}) {
    EXPECT_TRUE(looks_like_a_key(key)) << key;
    EXPECT_EQ(quoted_key_name(key), "[a name of " + std::to_string(key.size()) +
                                        " characters that looks like a key, not shown]");
  }
  for (const std::string name :
       {"openai", "acme-openai", "acme-openai-production", "openai-prod-2024-eu-west-1",
        "Acme2Prod", "beta_echo.v2", "a very long name with spaces in it 1234 ABC", ""}) {
    EXPECT_FALSE(looks_like_a_key(name)) << name;
    EXPECT_EQ(quoted_key_name(name), "'" + name + "'");
  }
}

}  // namespace
}  // namespace llmrt
