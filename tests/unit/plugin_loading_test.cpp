// Loading plugins: what the runtime promises about plugins that break the contract, plugins that
// fail at run time, and plugins from other ABI versions. Every refused plugin is reported as one
// LoadError that names its file and says what is wrong, and never stops the other plugins from
// loading and answering.
//
// The plugins used here are built from tests/plugins/ into LLMRT_TEST_PLUGIN_DIR; each source says
// which contract breach it demonstrates.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <llmrt/plugin.h>
#include <llmrt/llmrt.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace llmrt {
namespace {

namespace fs = std::filesystem;

const fs::path kEchoPlugin = test::kBundledPluginDir / "echo.so";
const fs::path kLegacyEchoPlugin = test::kBundledPluginDir / "legacy-echo.so";

fs::path test_plugin(std::string_view file) {
  return test::kTestPluginDir / file;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// A message names a file when it contains its path as given, or its canonical form.
bool names_file(std::string_view message, const fs::path& path) {
  std::error_code ignored;
  return contains(message, path.string()) ||
         contains(message, fs::weakly_canonical(path, ignored).string());
}

bool same_file(const std::string& reported, const fs::path& expected) {
  std::error_code ignored;
  return reported == expected.string() || fs::equivalent(reported, expected, ignored);
}

bool has_symbol_containing(const std::vector<std::string>& symbols, std::string_view part) {
  return std::any_of(symbols.begin(), symbols.end(),
                     [&](const std::string& symbol) { return contains(symbol, part); });
}

// Sets an environment variable of the test process for one scope (for the plugins' own code,
// which reads the real environment, not the runtime's injected one).
class ScopedProcessEnv {
 public:
  ScopedProcessEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedProcessEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedProcessEnv(const ScopedProcessEnv&) = delete;
  ScopedProcessEnv& operator=(const ScopedProcessEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kMarkerVariable = "LLMRT_TEST_CONSTRUCTOR_MARKER";

class PluginLoading : public ::testing::Test {
 protected:
  // The bundled plugins (echo, legacy-echo) first, then `extra` in order.
  RuntimeConfig config_with(std::initializer_list<fs::path> extra) const {
    RuntimeConfig config = test::isolated_config(user_dir_.path(), environment_);
    config.plugin_paths.insert(config.plugin_paths.end(), extra.begin(), extra.end());
    return config;
  }

  // The one load error reported for `path`; fails the test if there is not exactly one.
  static std::optional<LoadError> error_for(const Runtime& runtime, const fs::path& path) {
    std::optional<LoadError> found;
    int count = 0;
    for (const LoadError& error : runtime.load_errors()) {
      if (same_file(error.path, path)) {
        found = error;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << "load errors reported for " << path;
    return found;
  }

  // The bundled echo model is there and answers: one broken plugin does not break the others.
  static void expect_echo_answers(const Runtime& runtime) {
    try {
      const Model echo = runtime.get_model("echo");
      EXPECT_TRUE(same_file(echo.info().plugin_path, kEchoPlugin)) << echo.info().plugin_path;
      EXPECT_EQ(echo.prompt("still here").text, "still here");
    } catch (const Error& error) {
      ADD_FAILURE() << "echo does not answer: " << error.what();
    }
  }

  // Loads the bundled plugins plus `file`, and checks that `file` alone is refused with `kind`, by
  // a one-line message naming the file and containing every one of `words`, that none of the
  // models it offers is served, and that echo still answers.
  LoadError expect_refused_by_runtime(const fs::path& file, LoadErrorKind kind,
                                      std::initializer_list<std::string_view> words,
                                      std::initializer_list<std::string_view> model_ids = {}) {
    const Runtime runtime(config_with({file}));
    const std::optional<LoadError> error = error_for(runtime, file);
    EXPECT_EQ(runtime.load_errors().size(), 1u) << "only " << file << " should be refused";
    if (!error) return LoadError{file.string(), kind, ""};

    EXPECT_EQ(error->kind, kind) << "got " << to_string(error->kind) << ": " << error->message;
    EXPECT_TRUE(names_file(error->message, file)) << error->message;
    EXPECT_FALSE(contains(error->message, "\n")) << "not one line: " << error->message;
    for (std::string_view word : words) {
      EXPECT_TRUE(contains(error->message, word)) << "missing '" << word << "': " << error->message;
    }
    for (std::string_view id : model_ids) {
      try {
        (void)runtime.get_model(id);
        ADD_FAILURE() << "model '" << id << "' of a refused plugin is served";
      } catch (const Error& not_found) {
        EXPECT_EQ(not_found.code(), ErrorCode::model_not_found) << not_found.what();
      }
    }
    expect_echo_answers(runtime);
    return *error;
  }

  // As expect_refused_by_runtime, and inspect() refuses the file the same way on its own.
  LoadError expect_refused(const fs::path& file, LoadErrorKind kind,
                           std::initializer_list<std::string_view> words,
                           std::initializer_list<std::string_view> model_ids = {}) {
    const LoadError error = expect_refused_by_runtime(file, kind, words, model_ids);
    const PluginInspection inspection = Runtime::inspect(file);
    EXPECT_FALSE(inspection.plugin.has_value());
    EXPECT_TRUE(inspection.models.empty());
    if (inspection.error) {
      EXPECT_EQ(inspection.error->kind, kind) << inspection.error->message;
      EXPECT_TRUE(names_file(inspection.error->message, file)) << inspection.error->message;
    } else {
      ADD_FAILURE() << "inspect(" << file << ") reports no error";
    }
    return error;
  }

  test::TempDir user_dir_;
  test::FakeEnvironment environment_;
};

// ---- Files that are not llmrt plugins ----------------------------------------------------------

TEST_F(PluginLoading, ConstructorOfNonPluginNeverRuns) {
  const test::TempDir scratch;
  const fs::path marker = scratch.path() / "constructor-ran";
  const ScopedProcessEnv env(kMarkerVariable, marker.string());
  const fs::path file = test_plugin("bad_no_entry.so");

  const LoadError error =
      expect_refused(file, LoadErrorKind::no_entry_symbol, {LLMRT_ENTRY_SYMBOL});
  EXPECT_FALSE(fs::exists(marker)) << "the runtime ran the code of a non-plugin";

  const PluginInspection inspection = Runtime::inspect(file);
  EXPECT_TRUE(has_symbol_containing(inspection.exported_symbols, "llmrt_test_unrelated_function"))
      << "inspect lists the file's exported symbols without running it";
  EXPECT_FALSE(fs::exists(marker)) << "inspect ran the code of a non-plugin";
}

// The control for the test above: the marker does appear when the file really is loaded, so its
// absence there means something.
TEST_F(PluginLoading, ConstructorMarkerAppearsWhenTheLibraryIsReallyLoaded) {
  const test::TempDir scratch;
  const fs::path marker = scratch.path() / "constructor-ran";
  const ScopedProcessEnv env(kMarkerVariable, marker.string());

  void* handle = ::dlopen(test_plugin("bad_no_entry.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  ::dlclose(handle);
  EXPECT_TRUE(fs::exists(marker));
}

TEST_F(PluginLoading, TextFileIsNotASharedObject) {
  expect_refused(test_plugin("not_a_library.so"), LoadErrorKind::not_a_shared_object, {});
}

TEST_F(PluginLoading, MissingFileIsNotFound) {
  const fs::path missing = test_plugin("no_such_plugin.so");
  ASSERT_FALSE(fs::exists(missing));
  expect_refused(missing, LoadErrorKind::not_found, {});
}

TEST_F(PluginLoading, UndefinedSymbolFailsAtLoadNotAtFirstCall) {
  expect_refused(test_plugin("bad_undefined_symbol.so"), LoadErrorKind::load_failed,
                 {"llmrt_test_symbol_defined_nowhere"}, {"undefined-symbol"});
}

// ---- ABI negotiation ---------------------------------------------------------------------------

TEST_F(PluginLoading, AbiTooNewIsRefusedWithBothVersions) {
  const std::string expected = "needs a newer llmrt (plugin ABI 3.0, host ABI " +
                               abi_version_string(host_abi_version()) + ")";
  ASSERT_EQ(abi_version_string(host_abi_version()), "2.2");
  expect_refused(test_plugin("bad_abi_too_new.so"), LoadErrorKind::abi_too_new, {expected});
}

TEST_F(PluginLoading, NewerMinorAbiWithLargerStructsLoadsAndAnswers) {
  const fs::path file = test_plugin("abi_newer_minor.so");
  const Runtime runtime(config_with({file}));
  for (const LoadError& error : runtime.load_errors()) ADD_FAILURE() << error.message;

  const Model model = runtime.get_model("newer-minor");
  EXPECT_EQ(model.info().abi_version, LLMRT_ABI_MAKE_VERSION(2, 7));
  EXPECT_EQ(model.info().display_name, "Newer minor ABI (2.7)");
  EXPECT_TRUE(model.info().reentrant);
  EXPECT_TRUE(model.info().deterministic);
  EXPECT_FALSE(model.info().accepts_key) << "an unknown capability bit must be ignored";
  EXPECT_FALSE(model.info().requires_key);
  EXPECT_EQ(model.prompt("from the future").text, "from the future");

  const std::vector<PluginInfo> plugins = runtime.plugins();
  const auto plugin = std::find_if(plugins.begin(), plugins.end(),
                                   [](const PluginInfo& p) { return p.name == "abi-newer-minor"; });
  ASSERT_NE(plugin, plugins.end());
  EXPECT_EQ(plugin->abi_version, LLMRT_ABI_MAKE_VERSION(2, 7));
  EXPECT_EQ(abi_version_string(plugin->abi_version), "2.7");
  expect_echo_answers(runtime);
}

TEST_F(PluginLoading, LegacyEchoReportsAbi1AndTakesNoKey) {
  const PluginInspection inspection = Runtime::inspect(kLegacyEchoPlugin);
  ASSERT_FALSE(inspection.error.has_value()) << inspection.error->message;
  ASSERT_TRUE(inspection.plugin.has_value());
  EXPECT_EQ(inspection.plugin->abi_version, LLMRT_ABI_MAKE_VERSION(1, 0));
  ASSERT_EQ(inspection.models.size(), 1u);
  EXPECT_EQ(inspection.models[0].id, "legacy-echo");
  EXPECT_EQ(inspection.models[0].abi_version, LLMRT_ABI_MAKE_VERSION(1, 0));
  EXPECT_FALSE(inspection.models[0].accepts_key);
  EXPECT_FALSE(inspection.models[0].requires_key);
  EXPECT_TRUE(inspection.models[0].key_name.empty());

  const Runtime runtime(config_with({}));
  const Model legacy = runtime.get_model("legacy-echo");
  EXPECT_EQ(legacy.info().abi_version, LLMRT_ABI_MAKE_VERSION(1, 0));
  EXPECT_FALSE(legacy.info().accepts_key);
  EXPECT_EQ(legacy.prompt("old but gold").text, "old but gold");
}

// ---- Descriptors that break the contract -------------------------------------------------------

TEST_F(PluginLoading, AcceptsKeyFlagWithoutKeyedFunctionIsCapabilityMismatch) {
  expect_refused(test_plugin("bad_flag_without_keyed.so"), LoadErrorKind::capability_mismatch,
                 {"flag-without-keyed", "LLMRT_CAP_ACCEPTS_KEY", "execute_with_key"},
                 {"flag-without-keyed"});
}

TEST_F(PluginLoading, KeyedFunctionWithoutAcceptsKeyFlagIsCapabilityMismatch) {
  expect_refused(test_plugin("bad_keyed_without_flag.so"), LoadErrorKind::capability_mismatch,
                 {"keyed-without-flag", "LLMRT_CAP_ACCEPTS_KEY", "execute_with_key"},
                 {"keyed-without-flag"});
}

TEST_F(PluginLoading, RequiresKeyWithoutAcceptsKeyIsCapabilityMismatch) {
  expect_refused(test_plugin("bad_requires_without_accepts.so"), LoadErrorKind::capability_mismatch,
                 {"requires-without-accepts", "LLMRT_CAP_REQUIRES_KEY"},
                 {"requires-without-accepts"});
}

TEST_F(PluginLoading, NullExecuteIsAnInvalidDescriptor) {
  expect_refused(test_plugin("bad_null_execute.so"), LoadErrorKind::invalid_descriptor,
                 {"null-execute", "execute"}, {"null-execute"});
}

// Model fields are read only after struct_size shows they are there: bad_short_model's 4-byte
// model ends where a guard page begins, so reading `id` first would crash the test.
TEST_F(PluginLoading, ShortModelStructIsRefusedReadingNothingButItsSize) {
  expect_refused(test_plugin("bad_short_model.so"), LoadErrorKind::invalid_descriptor,
                 {"model #0", "struct_size 4"});
}

// Plugin strings are measured with a cap (strnlen): bad_unterminated_name's name has no NUL and
// ends where a guard page begins, so a strlen would crash the test.
TEST_F(PluginLoading, UnterminatedPluginNameIsRefusedWithoutReadingPastTheCap) {
  expect_refused(test_plugin("bad_unterminated_name.so"), LoadErrorKind::invalid_descriptor,
                 {"name", "1-128 bytes"});
}

TEST_F(PluginLoading, KeyEnvVarThatIsNotAVariableNameIsRefused) {
  const LoadError error =
      expect_refused(test_plugin("bad_key_env_var.so"), LoadErrorKind::invalid_descriptor,
                     {"bad-env-var", "key_env_var"}, {"bad-env-var"});
  EXPECT_FALSE(contains(error.message, "rm -rf")) << error.message;
}

TEST_F(PluginLoading, VersionWithControlCharactersIsRefused) {
  const LoadError error = expect_refused(test_plugin("bad_version.so"),
                                         LoadErrorKind::invalid_descriptor, {"invalid version"});
  EXPECT_FALSE(contains(error.message, "\x1b")) << error.message;
}

// ---- Entry points that throw: a load error, while the library is still mapped ------------------

struct ThrowingEntry {
  const char* file;
  const char* says;  // what the exception said, repeated in the load error
};

class EntryPointThrows : public PluginLoading,
                         public ::testing::WithParamInterface<ThrowingEntry> {};

TEST_P(EntryPointThrows, IsALoadErrorAndTheOthersStillServe) {
  const LoadError error =
      expect_refused(test_plugin(GetParam().file), LoadErrorKind::invalid_descriptor,
                     {"entry point", "contract breach", GetParam().says});
  // Loading it again (a new load: the failed one was closed) fails the same way.
  const Runtime again(config_with({test_plugin(GetParam().file)}));
  ASSERT_EQ(again.load_errors().size(), 1u);
  EXPECT_EQ(again.load_errors().front().message, error.message);
}

TEST_P(EntryPointThrows, InspectReportsItAndNeverThrows) {
  PluginInspection inspection;
  ASSERT_NO_THROW(inspection = Runtime::inspect(test_plugin(GetParam().file)));
  ASSERT_TRUE(inspection.error.has_value());
  EXPECT_EQ(inspection.error->kind, LoadErrorKind::invalid_descriptor);
  EXPECT_TRUE(contains(inspection.error->message, GetParam().says)) << inspection.error->message;
  EXPECT_TRUE(has_symbol_containing(inspection.exported_symbols, LLMRT_ENTRY_SYMBOL));
}

INSTANTIATE_TEST_SUITE_P(
    EveryExceptionType, EntryPointThrows,
    ::testing::Values(ThrowingEntry{"bad_entry_throws_std.so", "boom-std from the entry point"},
                      ThrowingEntry{"bad_entry_throws_custom.so",
                                    "boom-custom from the entry point"},
                      ThrowingEntry{"bad_entry_throws_other.so", "not a std::exception"}),
    [](const ::testing::TestParamInfo<ThrowingEntry>& info) {
      std::string name = fs::path(info.param.file).stem().string();
      name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return c == '_'; }),
                 name.end());
      return name;
    });

TEST_F(PluginLoading, DuplicateModelIdKeepsTheFirstAndNamesTheOtherFile) {
  const fs::path duplicate = test_plugin("bad_duplicate_echo.so");
  const LoadError error =
      expect_refused_by_runtime(duplicate, LoadErrorKind::duplicate_model, {"echo"}, {});
  EXPECT_TRUE(names_file(error.message, kEchoPlugin))
      << "the message should name the file that already offers 'echo': " << error.message;

  const Runtime runtime(config_with({duplicate}));
  const Model echo = runtime.get_model("echo");
  EXPECT_EQ(echo.info().plugin_name, "echo");
  EXPECT_EQ(echo.prompt("first wins").text, "first wins");
  const std::vector<PluginInfo> plugins = runtime.plugins();
  EXPECT_TRUE(std::none_of(plugins.begin(), plugins.end(), [](const PluginInfo& p) {
    return p.name == "bad-duplicate-echo";
  })) << "the refused plugin is not listed as loaded";
}

TEST_F(PluginLoading, DuplicateOnItsOwnInspectsFine) {
  // The duplicate is only a duplicate next to another plugin: on its own, it is a valid plugin.
  const PluginInspection inspection = Runtime::inspect(test_plugin("bad_duplicate_echo.so"));
  EXPECT_FALSE(inspection.error.has_value()) << inspection.error->message;
  ASSERT_EQ(inspection.models.size(), 1u);
  EXPECT_EQ(inspection.models[0].id, "echo");
}

// Every file of the corpus at once, as a directory: each bad one refused with its own kind, every
// good one loaded, nothing run that should not have been.
TEST_F(PluginLoading, WholeCorpusDirectoryLoadsTheGoodAndRefusesEachBadOne) {
  const test::TempDir scratch;
  const fs::path marker = scratch.path() / "constructor-ran";
  const ScopedProcessEnv env(kMarkerVariable, marker.string());
  const Runtime runtime(config_with({test::kTestPluginDir}));

  const std::vector<std::pair<std::string, LoadErrorKind>> refused = {
      {"bad_no_entry.so", LoadErrorKind::no_entry_symbol},
      {"bad_abi_too_new.so", LoadErrorKind::abi_too_new},
      {"bad_flag_without_keyed.so", LoadErrorKind::capability_mismatch},
      {"bad_keyed_without_flag.so", LoadErrorKind::capability_mismatch},
      {"bad_null_execute.so", LoadErrorKind::invalid_descriptor},
      {"bad_requires_without_accepts.so", LoadErrorKind::capability_mismatch},
      {"bad_duplicate_echo.so", LoadErrorKind::duplicate_model},
      {"bad_undefined_symbol.so", LoadErrorKind::load_failed},
      {"not_a_library.so", LoadErrorKind::not_a_shared_object},
      {"bad_short_model.so", LoadErrorKind::invalid_descriptor},
      {"bad_unterminated_name.so", LoadErrorKind::invalid_descriptor},
      {"bad_key_env_var.so", LoadErrorKind::invalid_descriptor},
      {"bad_version.so", LoadErrorKind::invalid_descriptor},
      {"bad_entry_throws_std.so", LoadErrorKind::invalid_descriptor},
      {"bad_entry_throws_custom.so", LoadErrorKind::invalid_descriptor},
      {"bad_entry_throws_other.so", LoadErrorKind::invalid_descriptor},
  };
  for (const auto& [file, kind] : refused) {
    const std::optional<LoadError> error = error_for(runtime, test_plugin(file));
    if (error) EXPECT_EQ(error->kind, kind) << file << ": " << error->message;
  }
  EXPECT_EQ(runtime.load_errors().size(), refused.size());
  EXPECT_FALSE(fs::exists(marker)) << "the runtime ran the code of a non-plugin";

  for (const char* id : {"newer-minor", "throws-std", "throws-other", "needs-key", "serial",
                         "key-leak", "v1-counted", "echo", "legacy-echo"}) {
    EXPECT_NO_THROW((void)runtime.get_model(id)) << id;
  }
  expect_echo_answers(runtime);
}

TEST_F(PluginLoading, KeyMetadataAndCapabilitiesAreCopiedAtLoad) {
  const Runtime runtime(config_with({test_plugin("needs_key.so"), test_plugin("serial.so")}));
  for (const LoadError& error : runtime.load_errors()) ADD_FAILURE() << error.message;

  const ModelInfo needs_key = runtime.get_model("needs-key").info();
  EXPECT_TRUE(needs_key.accepts_key);
  EXPECT_TRUE(needs_key.requires_key);
  EXPECT_TRUE(needs_key.reentrant);
  EXPECT_EQ(needs_key.key_name, "needs-key");
  EXPECT_EQ(needs_key.key_env_var, "LLMRT_NEEDS_KEY");
  EXPECT_EQ(needs_key.plugin_name, "needs-key");
  EXPECT_EQ(needs_key.abi_version, LLMRT_ABI_VERSION);
  EXPECT_TRUE(same_file(needs_key.plugin_path, test_plugin("needs_key.so")));

  const ModelInfo serial = runtime.get_model("serial").info();
  EXPECT_FALSE(serial.reentrant);
  EXPECT_FALSE(serial.accepts_key);
  EXPECT_TRUE(serial.key_name.empty());
}

// ---- Plugins that fail at run time -------------------------------------------------------------

TEST_F(PluginLoading, ThrowingModelFailsCleanlyWithPluginFailed) {
  const Runtime runtime(config_with({test_plugin("throwing.so")}));
  ASSERT_TRUE(runtime.load_errors().empty()) << runtime.load_errors().front().message;
  const Model model = runtime.get_model("throws-std");

  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      (void)model.prompt("hello");
      ADD_FAILURE() << "throws-std answered";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
      EXPECT_TRUE(contains(error.what(), "boom from plugin")) << error.what();
    }
    expect_echo_answers(runtime);
  }
}

TEST_F(PluginLoading, NonStdExceptionFailsWithAClearMessage) {
  const Runtime runtime(config_with({test_plugin("throwing.so")}));
  try {
    (void)runtime.get_model("throws-other").prompt("hello");
    ADD_FAILURE() << "throws-other answered";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
    EXPECT_TRUE(contains(error.what(), "not a std::exception")) << error.what();
  }
  expect_echo_answers(runtime);
}

TEST_F(PluginLoading, ThrowingModelFailsCleanlyAsync) {
  const Runtime runtime(config_with({test_plugin("throwing.so")}));
  AsyncResponse response = runtime.get_model("throws-std").prompt_async("hello");
  try {
    (void)response.get();
    ADD_FAILURE() << "throws-std answered";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << error.what();
    EXPECT_TRUE(contains(error.what(), "boom from plugin")) << error.what();
  }
  EXPECT_EQ(runtime.get_model("echo").prompt_async("async still works").get().text,
            "async still works");
}

TEST_F(PluginLoading, NonReentrantModelIsNeverCalledConcurrently) {
  const Runtime runtime(config_with({test_plugin("serial.so")}));
  const Model serial = runtime.get_model("serial");
  ASSERT_FALSE(serial.info().reentrant);

  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const std::string text = "call " + std::to_string(t) + "." + std::to_string(i);
        try {
          if (serial.prompt(text).text != text) ++failures;
        } catch (const Error& error) {
          if (failures++ == 0) first_failure[t] = error.what();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << [&] {
    std::string all;
    for (const std::string& message : first_failure) all += message;
    return all;
  }();
}

// ---- Keys in plugin error messages -------------------------------------------------------------

constexpr std::string_view kCanaryKey = "sk-test-LEAKCANARY-123";

bool has_redaction_marker(std::string message) {
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return contains(message, "redacted") || contains(message, "***") ||
         contains(message, "sha256:" + sha256_prefix(kCanaryKey));
}

void expect_key_scrubbed(const Error& error) {
  const std::string message = error.what();
  EXPECT_EQ(error.code(), ErrorCode::plugin_failed) << message;
  EXPECT_FALSE(contains(message, kCanaryKey)) << "the key leaked: " << message;
  EXPECT_FALSE(contains(message, "LEAKCANARY")) << "part of the key leaked: " << message;
  EXPECT_TRUE(contains(message, "upstream said: invalid key")) << message;
  EXPECT_TRUE(has_redaction_marker(message)) << "no redaction marker: " << message;
}

TEST_F(PluginLoading, KeyEchoedInAPluginErrorIsScrubbed) {
  const Runtime runtime(config_with({test_plugin("key_leak.so")}));
  const Model model = runtime.get_model("key-leak");
  try {
    (void)model.prompt("hello", PromptOptions{.key = Key(kCanaryKey)});
    ADD_FAILURE() << "key-leak answered";
  } catch (const Error& error) {
    expect_key_scrubbed(error);
  }

  AsyncResponse response = model.prompt_async("hello", PromptOptions{.key = Key(kCanaryKey)});
  try {
    (void)response.get();
    ADD_FAILURE() << "key-leak answered";
  } catch (const Error& error) {
    expect_key_scrubbed(error);
  }
  EXPECT_EQ(model.prompt("hello").text, "no key") << "without a key the model answers";
}

TEST_F(PluginLoading, KeyFromTheEnvironmentEchoedInAPluginErrorIsScrubbed) {
  environment_.set("LLMRT_KEY_LEAK_KEY", std::string(kCanaryKey));
  const Runtime runtime(config_with({test_plugin("key_leak.so")}));
  try {
    (void)runtime.get_model("key-leak").prompt("hello");
    ADD_FAILURE() << "key-leak answered";
  } catch (const Error& error) {
    expect_key_scrubbed(error);
  }
}

// ---- What a plugin exports ---------------------------------------------------------------------

TEST_F(PluginLoading, EchoExportsOnlyTheEntrySymbol) {
  const PluginInspection inspection = Runtime::inspect(kEchoPlugin);
  ASSERT_FALSE(inspection.error.has_value()) << inspection.error->message;
  const std::vector<std::string>& symbols = inspection.exported_symbols;
  EXPECT_NE(std::find(symbols.begin(), symbols.end(), LLMRT_ENTRY_SYMBOL), symbols.end());

  for (const std::string& symbol : symbols) {
    // Mangled C++ names spell the namespace as "5llmrt"/"3sdk"; demangled ones as "llmrt::".
    if (symbol == LLMRT_ENTRY_SYMBOL) continue;
    EXPECT_FALSE(contains(symbol, "llmrt")) << "exported: " << symbol;
    EXPECT_FALSE(contains(symbol, "sdk")) << "exported: " << symbol;
  }
  EXPECT_EQ(std::count(symbols.begin(), symbols.end(), LLMRT_ENTRY_SYMBOL), 1);
  ASSERT_TRUE(inspection.plugin.has_value());
  EXPECT_EQ(inspection.plugin->name, "echo");
  EXPECT_EQ(inspection.plugin->abi_version, LLMRT_ABI_VERSION);
}

}  // namespace
}  // namespace llmrt
