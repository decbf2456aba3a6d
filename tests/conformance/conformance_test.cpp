// llmrt-conformance, run as a user runs it: the bundled plugins pass every check; every plugin that
// breaks a rule fails exactly the checks that rule belongs to (the test parses the report's FAIL
// lines), and nothing else; the command line behaves as docs/conformance.md says.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kTool = LLMRT_CONFORMANCE_PATH;
const fs::path kConformancePlugins = LLMRT_CONFORMANCE_PLUGIN_DIR;

// Every check, in report order. docs/conformance.md describes each one.
const std::vector<std::string> kAllChecks = {
    "load.symbol_table",
    "load.exports_only_entry",
    "load.rtld_now",
    "negotiate.current",
    "negotiate.older_host",
    "negotiate.newer_host",
    "descriptor.plugin",
    "descriptor.model_sizes",
    "descriptor.ids",
    "descriptor.names",
    "descriptor.execute_present",
    "descriptor.options_schema",
    "descriptor.key_metadata",
    "capabilities.agree",
    "capabilities.requires_implies_accepts",
    "capabilities.no_unknown_bits",
    "extension.unknown_is_null",
    "load.host_accepts",
    "prompt.empty",
    "prompt.large_1mib",
    "prompt.invalid_utf8",
    "prompt.with_nul",
    "keys.keyed_call_works",
    "keys.largest_credential",
    "keys.unkeyed_never_called_with_key",
    "keys.plain_execute_without_key",
    "keys.not_kept_after_call",
    "keys.not_in_error_message",
    "stream.equals_buffered",
    "cancel.stop_via_write",
    "concurrency.reentrant",
    "exceptions.none_escape",
    "conversation.usage_once_after_output",
    "conversation.history_accepted",
    "lifecycle.load_unload_100",
};

struct ToolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string quoted(const std::string& argument) {
  std::string text = "'";
  for (const char c : argument) {
    if (c == '\'') {
      text += "'\\''";
    } else {
      text += c;
    }
  }
  return text + "'";
}

// Runs the tool with `arguments` (in `folder` when given, as an author does from the build folder).
ToolRun run_tool(const std::vector<std::string>& arguments, const fs::path& folder = {}) {
  std::string command = folder.empty() ? "" : "cd " + quoted(folder.string()) + " && ";
  command += quoted(kTool.string());
  for (const std::string& argument : arguments) command += " " + quoted(argument);
  command += " 2>&1";
  ToolRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  for (std::size_t got; (got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
    run.output.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

struct Report {
  std::vector<std::string> ids;  // every check line's id, in order
  std::set<std::string> failed;
  std::set<std::string> skipped;
  std::size_t fail_lines = 0;  // with --repeat, a check has a line per run
  std::size_t skip_lines = 0;
  std::string last_line;
};

Report parse(const std::string& output) {
  Report report;
  std::istringstream lines(output);
  static const std::regex check_line(R"(^(PASS|FAIL|SKIP)  (\S+)  .*$)");
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) report.last_line = line;
    std::smatch match;
    if (!std::regex_match(line, match, check_line)) continue;
    report.ids.push_back(match[2]);
    if (match[1] == "FAIL") {
      report.failed.insert(match[2]);
      ++report.fail_lines;
    }
    if (match[1] == "SKIP") {
      report.skipped.insert(match[2]);
      ++report.skip_lines;
    }
  }
  return report;
}

std::string join(const std::set<std::string>& ids) {
  std::string text;
  for (const std::string& id : ids) text += (text.empty() ? "" : " ") + id;
  return "{" + text + "}";
}

// The last line, exactly as documented: "N passed, M failed, K skipped".
void expect_summary(const Report& report, std::size_t failed) {
  const std::regex summary(R"(^(\d+) passed, (\d+) failed, (\d+) skipped$)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(report.last_line, match, summary)) << report.last_line;
  EXPECT_EQ(std::stoul(match[2]), failed);
  EXPECT_EQ(std::stoul(match[2]), report.fail_lines);
  EXPECT_EQ(std::stoul(match[3]), report.skip_lines);
  EXPECT_EQ(std::stoul(match[1]) + std::stoul(match[2]) + std::stoul(match[3]), report.ids.size());
}

// ---- Plugins and the checks they must fail
// -------------------------------------------------------

struct PluginCase {
  std::string name;  // test name
  fs::path file;
  std::set<std::string> must_fail;  // exactly these checks fail
  std::vector<std::string> extra_arguments = {};
  std::string report_mentions = {};  // a phrase the report must contain
};

void PrintTo(const PluginCase& plugin, std::ostream* out) {
  *out << plugin.file.filename().string();
}

fs::path corpus(const std::string& file) {
  return llmrt::test::kTestPluginDir / file;
}

fs::path ours(const std::string& file) {
  return kConformancePlugins / file;
}

#if defined(__SANITIZE_ADDRESS__)
// UndefinedBehaviorSanitizer reports the null store itself (and ends the process its own way).
constexpr const char* kSegfaultMention = "";
#else
// "killed by SIGSEGV", or ThreadSanitizer's "SEGV on unknown address".
constexpr const char* kSegfaultMention = "SEGV";
#endif

const std::vector<PluginCase> kPluginCases = {
    // Bundled plugins: everything passes.
    {"echo", llmrt::test::kBundledPluginDir / "echo.so", {}},
    {"legacy_echo", llmrt::test::kBundledPluginDir / "legacy-echo.so", {}},
    // The shared test corpus (tests/plugins).
    {"abi_newer_minor", corpus("abi_newer_minor.so"), {}},
    {"needs_key", corpus("needs_key.so"), {}},
    {"serial", corpus("serial.so"), {}},
    {"throwing", corpus("throwing.so"), {}},  // the SDK turns its exceptions into clean errors
    {"bad_duplicate_echo", corpus("bad_duplicate_echo.so"), {}},  // only a clash with echo.so
    {"bad_no_entry", corpus("bad_no_entry.so"), {"load.symbol_table"}},
    {"not_a_library", corpus("not_a_library.so"), {"load.symbol_table"}},
    {"bad_undefined_symbol", corpus("bad_undefined_symbol.so"), {"load.rtld_now"}},
    {"bad_abi_too_new", corpus("bad_abi_too_new.so"), {"negotiate.current"}},
    {"bad_flag_without_keyed",
     corpus("bad_flag_without_keyed.so"),
     {"capabilities.agree", "load.host_accepts"}},
    {"bad_keyed_without_flag",
     corpus("bad_keyed_without_flag.so"),
     {"capabilities.agree", "load.host_accepts"}},
    {"bad_requires_without_accepts",
     corpus("bad_requires_without_accepts.so"),
     {"capabilities.requires_implies_accepts", "load.host_accepts"}},
    {"bad_null_execute",
     corpus("bad_null_execute.so"),
     {"descriptor.execute_present", "load.host_accepts"}},
    {"key_leak", corpus("key_leak.so"), {"keys.not_in_error_message"}, {}, "contains the key"},
    // This directory's plugins (tests/conformance/plugins).
    {"conf_extra_exports",
     ours("conf_extra_exports.so"),
     {"load.exports_only_entry"},
     {},
     "conf_extra_helper"},
    {"conf_echoes_host_version",
     ours("conf_echoes_host_version.so"),
     {"negotiate.older_host", "negotiate.newer_host"}},
    {"conf_bad_schema",
     ours("conf_bad_schema.so"),
     {"descriptor.options_schema", "load.host_accepts"}},
    {"conf_bad_key_metadata", ours("conf_bad_key_metadata.so"), {"descriptor.key_metadata"}},
    {"conf_unknown_caps", ours("conf_unknown_caps.so"), {"capabilities.no_unknown_bits"}},
    {"conf_bad_status",
     ours("conf_bad_status.so"),
     {"prompt.empty", "prompt.invalid_utf8"},
     {},
     "without an error message"},
    {"conf_crashes_on_nul",
     ours("conf_crashes_on_nul.so"),
     {"prompt.with_nul"},
     {},
     kSegfaultMention},
    {"conf_hangs_on_empty",
     ours("conf_hangs_on_empty.so"),
     {"prompt.empty"},
     {"--timeout-ms", "3000"},
     "timed out after 3000 ms"},
    {"conf_exits", ours("conf_exits.so"), {"prompt.invalid_utf8"}, {}, "exited with status 3"},
    {"conf_writes_key",
     ours("conf_writes_key.so"),
     {"keys.keyed_call_works", "keys.largest_credential"},
     {},
     "wrote to the credential"},
    {"conf_key_as_c_string",
     ours("conf_key_as_c_string.so"),
     {"keys.keyed_call_works", "keys.largest_credential", "keys.not_kept_after_call"},
     {},
     "read past the end of the key"},
    // A token buffer sized by the key's limit: the one token limit is 16384 bytes (plugin.h).
    {"conf_token_4096", ours("conf_token_4096.so"), {"keys.largest_credential"}},
    {"conf_keeps_key_pointer",
     ours("conf_keeps_key_pointer.so"),
     {"keys.not_kept_after_call"},
     {},
     "kept the key or credential pointer"},
    {"conf_keeps_key_copy",
     ours("conf_keeps_key_copy.so"),
     {"keys.not_kept_after_call"},
     {},
     "contains the key of an earlier call"},
    {"conf_stream_differs", ours("conf_stream_differs.so"), {"stream.equals_buffered"}},
    {"conf_ignores_stop",
     ours("conf_ignores_stop.so"),
     {"cancel.stop_via_write"},
     {},
     "still running 2000 ms"},
    {"conf_racy", ours("conf_racy.so"), {"concurrency.reentrant"}},
    {"conf_history_fails",
     ours("conf_history_fails.so"),
     {"conversation.history_accepted"},
     {},
     "with a system prompt and 4 earlier turns"},
    {"conf_usage_twice",
     ours("conf_usage_twice.so"),
     {"conversation.usage_once_after_output"},
     {},
     "reported its usage 2 times"},
    {"conf_throws_through",
     ours("conf_throws_through.so"),
     {"exceptions.none_escape"},
     {},
     "unknown option 'nonexistent'"},
};

class PluginConformance : public testing::TestWithParam<PluginCase> {};

TEST_P(PluginConformance, FailsExactlyTheChecksItBreaks) {
  const PluginCase& plugin = GetParam();
  ASSERT_TRUE(fs::exists(plugin.file)) << plugin.file;
  std::vector<std::string> arguments = {plugin.file.string(), "--seed", "7"};
  arguments.insert(arguments.end(), plugin.extra_arguments.begin(), plugin.extra_arguments.end());
  const ToolRun run = run_tool(arguments);
  const Report report = parse(run.output);

  EXPECT_EQ(report.ids, kAllChecks) << run.output;
  EXPECT_EQ(report.failed, plugin.must_fail)
      << "failed " << join(report.failed) << ", expected " << join(plugin.must_fail) << "\n"
      << run.output;
  EXPECT_EQ(run.exit_code, plugin.must_fail.empty() ? 0 : 1) << run.output;
  expect_summary(report, plugin.must_fail.size());
  EXPECT_NE(run.output.find("seed:   7"), std::string::npos) << run.output;
  if (!plugin.report_mentions.empty()) {
    EXPECT_NE(run.output.find(plugin.report_mentions), std::string::npos) << run.output;
  }
  // Every FAIL says what to do.
  std::size_t hints = 0;
  for (std::size_t at = 0; (at = run.output.find("      what to do: ", at)) != std::string::npos;
       ++at) {
    ++hints;
  }
  EXPECT_EQ(hints, plugin.must_fail.size()) << run.output;
  // The keys the tool lends are never printed.
  EXPECT_EQ(run.output.find("llmrt-conformance-key-"), std::string::npos) << run.output;
}

INSTANTIATE_TEST_SUITE_P(conformance, PluginConformance, testing::ValuesIn(kPluginCases),
                         [](const testing::TestParamInfo<PluginCase>& info) {
                           return info.param.name;
                         });

// ---- The command line
// ----------------------------------------------------------------------------

const fs::path kEcho = llmrt::test::kBundledPluginDir / "echo.so";

TEST(conformance, FailedPrerequisiteSkipsTheChecksThatNeedIt) {
  const ToolRun run = run_tool({corpus("bad_no_entry.so").string()});
  const Report report = parse(run.output);
  EXPECT_EQ(report.skipped.size(), kAllChecks.size() - 1) << run.output;
  EXPECT_NE(run.output.find("SKIP  load.rtld_now  (needs load.symbol_table, which failed)"),
            std::string::npos)
      << run.output;
}

// Before: a bare file name reached dlopen as it was, which searches the library path, not the
// current folder: load.rtld_now failed ("cannot open shared object file") with wrong advice.
TEST(conformance, ABareFileNameRunFromItsFolderIsThatFile) {
  const ToolRun run = run_tool({kEcho.filename().string(), "--seed", "5"}, kEcho.parent_path());
  const Report report = parse(run.output);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(report.failed, std::set<std::string>{}) << run.output;
  EXPECT_FALSE(report.ids.empty()) << run.output;
}

TEST(conformance, UsageErrorsExitWith2) {
  EXPECT_EQ(run_tool({}).exit_code, 2);
  EXPECT_EQ(run_tool({"/nonexistent/plugin.so"}).exit_code, 2);
  EXPECT_EQ(run_tool({kEcho.string(), "--repeat", "0"}).exit_code, 2);
  EXPECT_EQ(run_tool({kEcho.string(), "--timeout-ms", "x"}).exit_code, 2);
  EXPECT_EQ(run_tool({kEcho.string(), "--no-such-option"}).exit_code, 2);
  const ToolRun unknown_model = run_tool({kEcho.string(), "--model", "no-such-model"});
  EXPECT_EQ(unknown_model.exit_code, 2);
  EXPECT_NE(unknown_model.output.find("no model 'no-such-model' (it offers: echo)"),
            std::string::npos)
      << unknown_model.output;
}

TEST(conformance, HelpExitsWith0) {
  const ToolRun run = run_tool({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--in-process"), std::string::npos) << run.output;
}

TEST(conformance, ModelOptionLimitsTheModelChecks) {
  const ToolRun run = run_tool({corpus("throwing.so").string(), "--model", "throws-std"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("model 'throws-std'"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("model 'throws-other'"), std::string::npos) << run.output;
}

TEST(conformance, RepeatRunsEveryCheckAgainWithTheNextSeed) {
  const ToolRun run = run_tool({kEcho.string(), "--repeat", "2", "--seed", "100"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const Report report = parse(run.output);
  EXPECT_EQ(report.ids.size(), 2 * kAllChecks.size());
  EXPECT_NE(run.output.find("run 2 of 2 (seed 101)"), std::string::npos) << run.output;
  expect_summary(report, 0);
}

TEST(conformance, InProcessGivesTheSameVerdicts) {
  for (const fs::path& plugin : {kEcho, corpus("key_leak.so")}) {
    const Report isolated = parse(run_tool({plugin.string(), "--seed", "3"}).output);
    const ToolRun run = run_tool({plugin.string(), "--seed", "3", "--in-process"});
    const Report in_process = parse(run.output);
    EXPECT_EQ(in_process.ids, kAllChecks) << run.output;
    EXPECT_EQ(in_process.failed, isolated.failed) << run.output;
    EXPECT_EQ(in_process.skipped, isolated.skipped) << run.output;
  }
}

TEST(conformance, JUnitReportHasATestcasePerCheck) {
  const llmrt::test::TempDir dir;
  const fs::path junit = dir.path() / "conformance.xml";
  const ToolRun run = run_tool({corpus("key_leak.so").string(), "--junit", junit.string()});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  std::ifstream file(junit);
  const std::string xml((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"llmrt-conformance\" tests=\"" +
                     std::to_string(kAllChecks.size()) + "\" failures=\"1\""),
            std::string::npos)
      << xml;
  std::size_t testcases = 0;
  for (std::size_t at = 0; (at = xml.find("<testcase ", at)) != std::string::npos; ++at) {
    ++testcases;
  }
  EXPECT_EQ(testcases, kAllChecks.size());
  EXPECT_NE(xml.find("name=\"keys.not_in_error_message\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find("llmrt-conformance-key-"), std::string::npos) << xml;
}

TEST(conformance, UnwritableJUnitFileIsAUsageError) {
  EXPECT_EQ(run_tool({kEcho.string(), "--junit", "/nonexistent/dir/report.xml"}).exit_code, 2);
}

}  // namespace
