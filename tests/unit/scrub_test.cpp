// The one scrubbing rule (core/src/scrub.hpp): no run of 8 or more bytes of any secret survives,
// wherever it sits in the message and wherever the message is cut. A property test over random
// keys and tokens (1 byte to 16 KiB), random messages that embed them whole and in pieces, and
// random cut positions, with a reference check that shares no code with the scrubber.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scrub.hpp"

namespace llmrt {
namespace {

std::string random_text(std::mt19937_64& random, std::size_t size, char low, char high) {
  std::uniform_int_distribution<int> byte(low, high);
  std::string text(size, ' ');
  for (char& c : text) c = static_cast<char>(byte(random));
  return text;
}

// Every run of 8 bytes of `secret` that appears in `shown`: must be none.
std::vector<std::string> surviving_pieces(std::string_view shown, std::string_view secret) {
  std::set<std::string> pieces;
  for (std::size_t i = 0; i + kSecretFragment <= secret.size(); ++i) {
    pieces.emplace(secret.substr(i, kSecretFragment));
  }
  std::vector<std::string> found;
  for (std::size_t i = 0; i + kSecretFragment <= shown.size(); ++i) {
    if (pieces.count(std::string(shown.substr(i, kSecretFragment))) != 0) {
      found.emplace_back(shown.substr(i, kSecretFragment));
    }
  }
  return found;
}

TEST(Scrub, NoPieceOfEightBytesOfAnySecretSurvivesAnyCut) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 random(seed);
    std::uniform_int_distribution<std::size_t> secret_size(1, 16 * 1024);
    const std::string key = random_text(random, secret_size(random), 0x21, 0x7E);
    const std::string token = random_text(random, secret_size(random), 0x21, 0x7E);
    // The message: filler, whole secrets and pieces of them, in random order.
    std::string message;
    std::uniform_int_distribution<int> part(0, 4);
    for (int i = 0; i < 12; ++i) {
      const std::string& secret = (i % 2 == 0) ? key : token;
      std::uniform_int_distribution<std::size_t> from(0, secret.size() - 1);
      const std::size_t start = from(random);
      std::uniform_int_distribution<std::size_t> length(1, secret.size() - start);
      switch (part(random)) {
        case 0:
          message += secret;
          break;
        case 1:
          message += secret.substr(start, length(random));
          break;
        default:
          message += random_text(
              random, std::uniform_int_distribution<std::size_t>(0, 3000)(random), 0x20, 0x7E);
      }
    }
    // Cut where the plugin's text is bounded, then to the length shown.
    const std::size_t kept = std::uniform_int_distribution<std::size_t>(0, message.size())(random);
    const std::size_t shown_max = std::uniform_int_distribution<std::size_t>(1, 4096)(random);
    const std::string shown =
        scrub_secrets(std::string_view(message).substr(0, kept), {key, token}, shown_max);
    EXPECT_LE(shown.size(), shown_max + 3);
    EXPECT_EQ(surviving_pieces(shown, key), std::vector<std::string>{});
    EXPECT_EQ(surviving_pieces(shown, token), std::vector<std::string>{});
  }
}

TEST(Scrub, AKeyStraddlingTheCutIsGoneNotHalfShown) {
  // Before: the message was cut to 4096 bytes, then the key searched for: a 3000-byte key that
  // straddled the cut was not found whole, and its first part was shown.
  std::mt19937_64 random(7);
  const std::string key = random_text(random, 3000, 0x21, 0x7E);
  const std::string message = std::string(2500, 'x') + key + " was refused";
  const std::string shown = scrub_secrets(message.substr(0, 4096), {key}, 2048);
  EXPECT_EQ(surviving_pieces(shown, key), std::vector<std::string>{});
  EXPECT_EQ(shown, std::string(2048, 'x') + "...");
  const std::string whole = scrub_secrets(message, {key}, 4000);
  EXPECT_EQ(whole, std::string(2500, 'x') + "[redacted] was refused");
}

TEST(Scrub, PiecesOfASecretAreRedactedAndShortSecretsOnlyWhole) {
  const std::string key = "sk-live-0123456789abcdef";
  EXPECT_EQ(scrub_secrets("provider echoed sk-live-01234 (truncated)", {key}, 100),
            "provider echoed [redacted] (truncated)");
  EXPECT_EQ(scrub_secrets("short abc and abcd", {"abc"}, 100), "short [redacted] and [redacted]d");
  EXPECT_EQ(scrub_secrets("nothing\tsecret\nhere", {"", key}, 100), "nothing secret here");
  EXPECT_EQ(scrub_secrets("0123456789", {}, 4), "0123...");
}

}  // namespace
}  // namespace llmrt
