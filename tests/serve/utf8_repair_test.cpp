// Utf8Repair: what a model writes reaches clients as valid UTF-8, whatever the plugin's chunking.
#include <gtest/gtest.h>

#include <string>

#include "utf8_repair.hpp"

namespace llmrt::serve {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Repair, ValidTextPassesUnchanged) {
  Utf8Repair repair;
  const std::string text = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(repair.feed(text), text);
  EXPECT_EQ(repair.finish(), "");
}

TEST(Utf8Repair, ACharacterSplitAcrossWritesIsHeldBackUntilWhole) {
  Utf8Repair repair;
  EXPECT_EQ(repair.feed("caf\xC3"), "caf");
  EXPECT_EQ(repair.feed("\xA9!"), "\xC3\xA9!");
  // A four-byte character in three pieces.
  EXPECT_EQ(repair.feed("\xF0\x9F"), "");
  EXPECT_EQ(repair.feed("\x98"), "");
  EXPECT_EQ(repair.feed("\x80."), "\xF0\x9F\x98\x80.");
  EXPECT_EQ(repair.finish(), "");
}

TEST(Utf8Repair, InvalidBytesBecomeReplacementCharacters) {
  Utf8Repair repair;
  EXPECT_EQ(repair.feed("a\xFF"
                        "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(repair.feed("\xC0\xAF"), kFffd + kFffd);              // overlong '/'
  EXPECT_EQ(repair.feed("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // a surrogate
  EXPECT_EQ(repair.feed("\xC3x"), kFffd + "x");                   // a cut character, then ASCII
  EXPECT_EQ(repair.feed("\xF5\x80"), kFffd + kFffd);              // past U+10FFFF
}

TEST(Utf8Repair, AnIncompleteCharacterAtTheEndBecomesOneReplacementCharacter) {
  Utf8Repair repair;
  EXPECT_EQ(repair.feed("end\xE2\x82"), "end");
  EXPECT_EQ(repair.finish(), kFffd);
  EXPECT_EQ(valid_utf8("x\xE2\x82"), "x" + kFffd);
}

}  // namespace
}  // namespace llmrt::serve
