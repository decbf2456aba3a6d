// Model options (`-o name value` and JSON): each value is checked against the model's schema before
// the plugin is called, and a refusal is Error(bad_request) that names the option and says what it
// must be. Instance defaults (create_model) are checked when the instance is made and can be
// overridden per call.
//
// echo's schema: delay_ms (integer, 0..10000) and fail (string: fail the call with that message).
// legacy-echo (ABI v1) declares no options.
#include <gtest/gtest.h>
#include <llmrt/llmrt.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "options_schema.hpp"
#include "test_support.hpp"

namespace llmrt {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

Error error_from(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected an llmrt::Error";
  return Error(ErrorCode::usage, "");
}

PromptOptions with_options(OptionValues values, std::string json = {}) {
  PromptOptions options;
  options.options = std::move(values);
  options.options_json = std::move(json);
  return options;
}

class Options : public ::testing::Test {
 protected:
  test::TempDir temp_;
  test::FakeEnvironment environment_;
  Runtime runtime_{test::isolated_config(temp_.path(), environment_)};
  Model echo_ = runtime_.get_model("echo");

  // The error of prompting echo with these options, which must be refused before the plugin runs.
  Error refusal(OptionValues values, std::string json = {}) {
    return error_from([&] { (void)echo_.prompt("hello", with_options(values, json)); });
  }
};

// ---- Named options (-o)
// ---------------------------------------------------------------------------

using NamedOptions = Options;

TEST_F(NamedOptions, IntegerOptionGivenAsTextIsAccepted) {
  const Response response = echo_.prompt("a b", with_options({{"delay_ms", "5"}}));
  EXPECT_EQ(response.text, "a b");
  EXPECT_EQ(echo_.prompt("a b", with_options({{"delay_ms", "0"}})).text, "a b");
}

TEST_F(NamedOptions, StringOptionReachesThePlugin) {
  const Error error = error_from([&] {
    (void)echo_.prompt("x", with_options({{"fail", "boom"}}));
  });
  EXPECT_EQ(error.code(), ErrorCode::plugin_failed);
  EXPECT_TRUE(contains(error.what(), "boom")) << error.what();
}

TEST_F(NamedOptions, NonIntegerTextIsRefusedNamingTheOptionAndItsType) {
  for (std::string_view bad : {"abc", "1.5", "5ms", "", " 5", "0x10"}) {
    SCOPED_TRACE(bad);
    const Error error = refusal({{"delay_ms", std::string(bad)}});
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_TRUE(contains(error.what(), "delay_ms")) << error.what();
    EXPECT_TRUE(contains(error.what(), "an integer")) << error.what();
    EXPECT_TRUE(contains(error.what(), "echo")) << error.what();
  }
}

TEST_F(NamedOptions, ValueBelowTheMinimumIsRefused) {
  const Error error = refusal({{"delay_ms", "-1"}});
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_TRUE(contains(error.what(), "delay_ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "at least 0")) << error.what();
}

TEST_F(NamedOptions, ValueAboveTheMaximumIsRefused) {
  const Error error = refusal({{"delay_ms", "10001"}});
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_TRUE(contains(error.what(), "delay_ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "at most")) << error.what();
}

TEST_F(NamedOptions, RangeIsShownAsTheSchemaWritesIt) {
  // echo's schema says "minimum": 0, "maximum": 10000; a user should read those numbers back, not
  // a floating-point rendering of them such as "0E0" or "1E4".
  for (std::string_view bad : {"-1", "10001"}) {
    SCOPED_TRACE(bad);
    const Error error = refusal({{"delay_ms", std::string(bad)}});
    EXPECT_TRUE(contains(error.what(), "must be at least 0 and at most 10000")) << error.what();
  }
}

TEST_F(NamedOptions, UnknownOptionIsRefusedListingTheModelsOptions) {
  const Error error = refusal({{"temperature", "0.7"}});
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_TRUE(contains(error.what(), "temperature")) << error.what();
  EXPECT_TRUE(contains(error.what(), "delay_ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "fail")) << error.what();
}

// `-o delay_ms=5` for `-o delay_ms 5`: the option meant is named, with its value.
TEST_F(NamedOptions, NameEqualsValueIsRefusedNamingTheOptionMeant) {
  const Error error = refusal({{"delay_ms=5", "hi"}});
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_TRUE(contains(error.what(), "did you mean its option 'delay_ms' with the value '5'?"))
      << error.what();
  const Error unknown = refusal({{"speed=5", "hi"}});
  EXPECT_TRUE(contains(unknown.what(), "its options: delay_ms, fail")) << unknown.what();
}

// The plugin is promised valid JSON: a named option's text that is not UTF-8 is refused before it
// (found by tests/fuzz, target `options`).
TEST_F(NamedOptions, TextThatIsNotUtf8IsRefused) {
  for (const std::string bad :
       {std::string("\xff"), std::string("caf\xc3"), std::string("\xed\xa0\x80")}) {
    const Error error = refusal({{"fail", bad}});
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_TRUE(contains(error.what(), "option 'fail' of model 'echo' is not valid UTF-8 text"))
        << error.what();
  }
  // Valid UTF-8 reaches the plugin (echo fails the call with it).
  const Error valid = refusal({{"fail", "caf\xc3\xa9 \xf0\x9f\x98\x80"}});
  EXPECT_EQ(valid.code(), ErrorCode::plugin_failed) << valid.what();
  EXPECT_TRUE(contains(valid.what(), "caf\xc3\xa9 \xf0\x9f\x98\x80")) << valid.what();
}

// Boost.JSON reads 1e999 as infinity and 0e999 as NaN, and would write them as Infinity and NaN,
// which are not JSON: such a number is refused, named or in the options JSON, at any depth (found
// by tests/fuzz, target `options`).
TEST(OptionsSchemaBuild, NumbersTooLargeForJsonAreRefused) {
  const OptionsSchema schema = OptionsSchema::parse(
      R"({"type":"object","properties":{"t":{"type":"number"},"x":{},"list":{"type":"array"}}})");
  for (const auto& [named, json] :
       std::vector<std::pair<OptionValues, std::string>>{{{{"x", "0e409"}}, ""},
                                                         {{{"x", "[1, 1e999]"}}, ""},
                                                         {{}, R"({"t": 1e999})"},
                                                         {{}, R"({"t": -1e999})"},
                                                         {{}, R"({"list": [{"a": 0e999}]})"}}) {
    const Error error = error_from([&] { (void)schema.build("m", {}, named, json); });
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_TRUE(contains(error.what(), "a number too large for JSON")) << error.what();
  }
  EXPECT_EQ(schema.build("m", {}, {{"x", "1e300"}}, R"({"t": 2.5})"), R"({"x":1E300,"t":2.5E0})");
}

TEST_F(NamedOptions, ModelWithoutOptionsSaysItTakesNone) {
  const Model legacy = runtime_.get_model("legacy-echo");
  EXPECT_EQ(legacy.prompt("plain").text, "plain");
  const Error error = error_from([&] {
    (void)legacy.prompt("x", with_options({{"delay_ms", "5"}}));
  });
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_TRUE(contains(error.what(), "delay_ms")) << error.what();
  EXPECT_TRUE(contains(error.what(), "it takes no options")) << error.what();

  const Error from_json =
      error_from([&] { (void)legacy.prompt("x", with_options({}, R"({"a":1})")); });
  EXPECT_EQ(from_json.code(), ErrorCode::bad_request) << from_json.what();
  EXPECT_TRUE(contains(from_json.what(), "it takes no options")) << from_json.what();
}

TEST_F(NamedOptions, RefusedOptionsNeverReachThePlugin) {
  // "fail" would make the plugin fail: a refusal must come first, as bad_request.
  const Error error = refusal({{"fail", "the plugin ran"}, {"delay_ms", "abc"}});
  EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
  EXPECT_FALSE(contains(error.what(), "the plugin ran")) << error.what();
}

// ---- Options as JSON
// ------------------------------------------------------------------------------

using JsonOptions = Options;

TEST_F(JsonOptions, JsonObjectIsAccepted) {
  EXPECT_EQ(echo_.prompt("a b", with_options({}, R"({"delay_ms": 1})")).text, "a b");
  EXPECT_EQ(echo_.prompt("a b", with_options({}, "{}")).text, "a b");
}

TEST_F(JsonOptions, JsonIsMergedWithNamedOptions) {
  // Each source contributes an option of its own; both reach the plugin.
  const Error from_json = error_from([&] {
    (void)echo_.prompt("x", with_options({{"delay_ms", "1"}}, R"({"fail":"json-fail"})"));
  });
  EXPECT_EQ(from_json.code(), ErrorCode::plugin_failed) << from_json.what();
  EXPECT_TRUE(contains(from_json.what(), "json-fail")) << from_json.what();

  const Error from_named = error_from([&] {
    (void)echo_.prompt("x", with_options({{"fail", "named-fail"}}, R"({"delay_ms":1})"));
  });
  EXPECT_EQ(from_named.code(), ErrorCode::plugin_failed) << from_named.what();
  EXPECT_TRUE(contains(from_named.what(), "named-fail")) << from_named.what();

  // And each is still checked.
  const Error checked = refusal({{"fail", "named"}}, R"({"delay_ms": -3})");
  EXPECT_EQ(checked.code(), ErrorCode::bad_request) << checked.what();
  EXPECT_TRUE(contains(checked.what(), "at least 0")) << checked.what();
}

TEST_F(JsonOptions, JsonThatIsNotAnObjectIsRefused) {
  for (std::string_view bad : {"[1, 2]", "\"delay_ms\"", "5", "null", "{not json", "{\"a\":"}) {
    SCOPED_TRACE(bad);
    const Error error = refusal({}, std::string(bad));
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_TRUE(contains(error.what(), "JSON object")) << error.what();
  }
}

TEST_F(JsonOptions, JsonValuesAreTypeCheckedToo) {
  const Error wrong_type = refusal({}, R"({"delay_ms": "abc"})");
  EXPECT_EQ(wrong_type.code(), ErrorCode::bad_request) << wrong_type.what();
  EXPECT_TRUE(contains(wrong_type.what(), "an integer")) << wrong_type.what();

  const Error fraction = refusal({}, R"({"delay_ms": 2.5})");
  EXPECT_EQ(fraction.code(), ErrorCode::bad_request) << fraction.what();

  const Error not_string = refusal({}, R"({"fail": 42})");
  EXPECT_EQ(not_string.code(), ErrorCode::bad_request) << not_string.what();
  EXPECT_TRUE(contains(not_string.what(), "a string")) << not_string.what();

  const Error unknown = refusal({}, R"({"top_p": 0.5})");
  EXPECT_EQ(unknown.code(), ErrorCode::bad_request) << unknown.what();
  EXPECT_TRUE(contains(unknown.what(), "top_p")) << unknown.what();
}

// ---- Instance defaults (create_model) ----------------------------------------------------------

using DefaultOptions = Options;

TEST_F(DefaultOptions, AreAppliedToEveryCall) {
  const Model model =
      runtime_.create_model("echo", ModelSettings{.options = {{"fail", "default-fail"}}});
  for (int i = 0; i < 2; ++i) {
    const Error error = error_from([&] { (void)model.prompt("x"); });
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
    EXPECT_TRUE(contains(error.what(), "default-fail")) << error.what();
  }
  // Another instance, and the shared model, are not affected.
  EXPECT_EQ(runtime_.get_model("echo").prompt("x").text, "x");
  EXPECT_EQ(runtime_.create_model("echo").prompt("x").text, "x");
}

TEST_F(DefaultOptions, ArePerCallOverridable) {
  const Model model =
      runtime_.create_model("echo", ModelSettings{.options = {{"fail", "default-fail"}}});
  const Error named = error_from([&] {
    (void)model.prompt("x", with_options({{"fail", "call-fail"}}));
  });
  EXPECT_TRUE(contains(named.what(), "call-fail")) << named.what();
  EXPECT_FALSE(contains(named.what(), "default-fail")) << named.what();

  const Error json =
      error_from([&] { (void)model.prompt("x", with_options({}, R"({"fail":"json-fail"})")); });
  EXPECT_TRUE(contains(json.what(), "json-fail")) << json.what();
  EXPECT_FALSE(contains(json.what(), "default-fail")) << json.what();

  // An empty "fail" means do not fail: the default is fully replaced for this call.
  EXPECT_EQ(model.prompt("ok now", with_options({{"fail", ""}})).text, "ok now");
}

TEST_F(DefaultOptions, BadDefaultsAreRefusedByCreateModel) {
  struct Case {
    OptionValues options;
    std::string expected;
  };
  for (const Case& bad :
       {Case{{{"delay_ms", "abc"}}, "an integer"}, Case{{{"delay_ms", "-1"}}, "at least 0"},
        Case{{{"nope", "1"}}, "nope"}}) {
    SCOPED_TRACE(bad.expected);
    const Error error = error_from(
        [&] { (void)runtime_.create_model("echo", ModelSettings{.options = bad.options}); });
    EXPECT_EQ(error.code(), ErrorCode::bad_request) << error.what();
    EXPECT_TRUE(contains(error.what(), bad.expected)) << error.what();
  }
  const Error legacy = error_from([&] {
    (void)runtime_.create_model("legacy-echo", ModelSettings{.options = {{"delay_ms", "1"}}});
  });
  EXPECT_EQ(legacy.code(), ErrorCode::bad_request) << legacy.what();
  EXPECT_TRUE(contains(legacy.what(), "it takes no options")) << legacy.what();
}

TEST_F(DefaultOptions, GoodDefaultsAreAccepted) {
  const Model model = runtime_.create_model("echo", ModelSettings{.options = {{"delay_ms", "1"}}});
  EXPECT_EQ(model.prompt("a b c").text, "a b c");
}

}  // namespace
}  // namespace llmrt
