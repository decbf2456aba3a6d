// What a conformance check is: an id, a one-line description, what to do when it fails, the checks
// it needs to have passed first, and a body that returns a verdict. The body runs in a child
// process of its own (see isolation.hpp), so it may crash or hang without taking the run down.
#ifndef LLMRT_CONFORMANCE_CHECK_HPP
#define LLMRT_CONFORMANCE_CHECK_HPP

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt::conformance {

class Context;

enum class Outcome { pass, fail, skip };

struct Result {
  Outcome outcome = Outcome::pass;
  std::string message;  // the reason for a FAIL or a SKIP; may span several lines

  static Result passed(std::string note = {}) { return {Outcome::pass, std::move(note)}; }
  static Result failed(std::string reason) { return {Outcome::fail, std::move(reason)}; }
  static Result skipped(std::string reason) { return {Outcome::skip, std::move(reason)}; }
};

// A verdict as it travels from an isolated child to the runner: one letter, then the message.
inline std::string encode(const Result& result) {
  const char letter = result.outcome == Outcome::pass   ? 'P'
                      : result.outcome == Outcome::fail ? 'F'
                                                        : 'S';
  return letter + result.message;
}

inline Result decode(std::string_view payload) {
  if (payload.empty()) return Result::failed("the check reported nothing");
  const std::string message(payload.substr(1));
  switch (payload.front()) {
    case 'P':
      return Result::passed(message);
    case 'S':
      return Result::skipped(message);
    case 'F':
      return Result::failed(message);
    default:
      return Result::failed("the check reported an unreadable verdict");
  }
}

struct Check {
  std::string id;                  // eg: "load.rtld_now"
  std::string description;         // one line, eg: "dlopen with RTLD_NOW succeeds"
  std::string hint;                // "what to do" when it fails
  std::vector<std::string> needs;  // ids that must have PASSED first; otherwise this one is SKIP
  std::function<Result(Context&)> run;
};

// The checks of each topic, in report order (checks_*.cpp).
std::vector<Check> load_checks();
std::vector<Check> negotiate_checks();
std::vector<Check> descriptor_checks();
std::vector<Check> prompt_checks();
std::vector<Check> key_checks();
std::vector<Check> behaviour_checks();
std::vector<Check> lifecycle_checks();
std::vector<Check> conversation_checks();

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_CHECK_HPP
