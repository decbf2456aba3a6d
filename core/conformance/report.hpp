// The report: one block per check as it finishes (PASS / FAIL with reason and what to do / SKIP),
// a last line "N passed, M failed, K skipped", and optionally the same as JUnit XML for CI.
#ifndef LLMRT_CONFORMANCE_REPORT_HPP
#define LLMRT_CONFORMANCE_REPORT_HPP

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "check.hpp"
#include "options.hpp"

namespace llmrt::conformance {

struct Record {
  const Check* check = nullptr;
  Result result;
  unsigned repetition = 1;  // 1-based
  std::uint64_t seed = 0;   // the seed of that repetition
  double seconds = 0;
};

// "PASS  id  description", or "FAIL  id  description" + indented reason + "what to do: ...", or
// "SKIP  id  (reason)". Ends with a newline.
std::string format_record(const Record& record);

// "N passed, M failed, K skipped".
std::string format_summary(const std::vector<Record>& records);

// Writes the records as JUnit XML (one testsuite, a testcase per record). Throws on I/O errors.
void write_junit(const std::filesystem::path& file, const Options& options,
                 const std::vector<Record>& records, double seconds);

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_REPORT_HPP
