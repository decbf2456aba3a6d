// How calls behave (docs/abi.md, "Capabilities", "Threading", "Status codes, errors and
// cancellation"): streaming does not change a deterministic answer, a stop request is honoured
// quickly, reentrant models survive concurrent calls, and no exception leaves the plugin.
#include <algorithm>
#include <chrono>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "context.hpp"
#include "isolation.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kStopBound{2000};
constexpr milliseconds kFirstOutputLimit{5000};
constexpr std::size_t kMaxWritesAfterStop = 8;
constexpr std::size_t kReentrantThreads = 8;
constexpr std::size_t kReentrantCalls = 50;
constexpr std::size_t kSerialThreads = 4;
constexpr std::size_t kSerialCalls = 10;
constexpr std::size_t kMaxListedFailures = 5;

std::string first_difference(const std::string& a, const std::string& b) {
  const auto mismatch = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  const auto at = static_cast<std::size_t>(mismatch.first - a.begin());
  return "they differ from byte " + std::to_string(at) + " (" + std::to_string(a.size()) +
         " bytes buffered, " + std::to_string(b.size()) + " streamed)";
}

// "LLMRT_OK \"request 3: alpha bravo\"" (short).
std::string answer_text(const CallResult& result) {
  return status_name(result.status) + " \"" + printable(result.output, 40) + "\"";
}

bool rejected_dummy_key(const CallRequest& request, const CallResult& result) {
  return request.key != nullptr && result.status == LLMRT_KEY_REJECTED;
}

Result stream_equals_buffered(Context& ctx) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    if (!target.info().deterministic) {
      verdicts.skip(target.name(), "it is not LLMRT_CAP_DETERMINISTIC");
      continue;
    }
    const std::string text = ctx.words(40);
    const CallRequest buffered_request{.text = text, .key = key_for_plain_use(target)};
    CallRequest streamed_request = buffered_request;
    streamed_request.stream = true;
    const CallResult buffered = call_model(target, buffered_request);
    const CallResult streamed = call_model(target, streamed_request);
    if (auto breach = contract_breach(target, buffered_request, buffered)) {
      verdicts.fail(target.name(), "without LLMRT_PROMPT_STREAM: " + *breach);
    } else if (auto breach = contract_breach(target, streamed_request, streamed)) {
      verdicts.fail(target.name(), "with LLMRT_PROMPT_STREAM: " + *breach);
    } else if (rejected_dummy_key(buffered_request, buffered)) {
      verdicts.skip(target.name(), "it rejected the tool's dummy key");
    } else if (buffered.status != streamed.status) {
      verdicts.fail(target.name(), "streamed it answers " + status_name(streamed.status) +
                                       ", buffered " + status_name(buffered.status));
    } else if (buffered.output != streamed.output) {
      verdicts.fail(target.name(), "the streamed chunks joined differ from the buffered output: " +
                                       first_difference(buffered.output, streamed.output));
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

Result stop_via_write(Context& ctx) {
  Verdicts verdicts;
  const std::string text = ctx.words(2000);
  for (const Target& target : ctx.targets()) {
    // Until the first chunk: a model that produces nothing for long (eg: a provider that cannot be
    // reached) has nothing to stop; the check ends there, with what it found so far.
    Verdicts if_silent = verdicts;
    if_silent.skip(target.name(), "it wrote nothing in " +
                                      std::to_string(kFirstOutputLimit.count()) +
                                      " ms, so there was nothing to stop (models after it were "
                                      "not checked)");
    Deadline before_output(kFirstOutputLimit, encode(if_silent.result()));
    // From the first chunk on, the stop request: the call has kStopBound to return.
    std::optional<Deadline> after_stop;
    const CallRequest request{
        .text = text,
        .stream = true,
        .key = key_for_plain_use(target),
        .stop_at_write = 1,
        .on_stop_requested = [&] {
          before_output.disarm();
          after_stop.emplace(
              kStopBound,
              encode(Result::failed(target.name() + ": the call was still running " +
                                    std::to_string(kStopBound.count()) +
                                    " ms after write returned non-zero (at its first chunk); "
                                    "should_stop returned non-zero all that time")));
        }};
    const CallResult result = call_model(target, request);
    before_output.disarm();
    const bool missed = after_stop && after_stop->disarm();
    const auto stopping =
        std::chrono::duration_cast<milliseconds>(result.end_time - result.stop_time);
    if (result.writes == 0) {
      verdicts.skip(target.name(), "it wrote nothing (" + describe_answer(result) +
                                       "), so there was nothing to stop");
    } else if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), *breach);
    } else if (missed || stopping > kStopBound) {
      verdicts.fail(target.name(), "it returned " + std::to_string(stopping.count()) +
                                       " ms after write returned non-zero at its first chunk "
                                       "(bound: " +
                                       std::to_string(kStopBound.count()) + " ms)");
    } else if (result.writes_after_stop > kMaxWritesAfterStop) {
      verdicts.fail(target.name(), "it went on writing after write returned non-zero (" +
                                       std::to_string(result.writes_after_stop) + " more writes)");
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

struct ConcurrentCall {
  CallRequest request;
  CallResult result;
};

Result reentrant(Context& ctx) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    const bool concurrent = target.info().reentrant;
    const std::size_t threads = concurrent ? kReentrantThreads : kSerialThreads;
    const std::size_t calls = concurrent ? kReentrantCalls : kSerialCalls;
    const llmrt_credential* key = key_for_plain_use(target);

    std::vector<std::string> prompts(threads * calls);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      prompts[i] = "request " + std::to_string(i) + ": " + ctx.words(6);
    }
    // For a deterministic model, what each prompt gives when called alone.
    std::vector<CallResult> expected;
    if (target.info().deterministic) {
      for (const std::string& prompt : prompts) {
        expected.push_back(call_model(target, {.text = prompt, .key = key}));
      }
      if (key != nullptr && expected.front().status == LLMRT_KEY_REJECTED) {
        verdicts.skip(target.name(), "it rejected the tool's dummy key");
        continue;
      }
    }

    std::vector<ConcurrentCall> outcomes(prompts.size());
    std::latch start(static_cast<std::ptrdiff_t>(threads));
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        for (std::size_t c = 0; c < calls; ++c) {
          ConcurrentCall& outcome = outcomes[t * calls + c];
          outcome.request = {.text = prompts[t * calls + c], .key = key};
          outcome.result = call_model(target, outcome.request);
        }
      });
    }
    for (std::thread& worker : workers) worker.join();

    std::vector<std::string> problems;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const ConcurrentCall& outcome = outcomes[i];
      std::string problem;
      if (auto breach = contract_breach(target, outcome.request, outcome.result)) {
        problem = *breach;
      } else if (!expected.empty() && (outcome.result.status != expected[i].status ||
                                       outcome.result.output != expected[i].output)) {
        problem = "it answered " + answer_text(outcome.result) + " where the same prompt called " +
                  "alone gave " + answer_text(expected[i]) + ", although it is deterministic";
      }
      if (!problem.empty()) problems.push_back("call " + std::to_string(i) + ": " + problem);
    }
    if (problems.empty()) {
      verdicts.pass();
      continue;
    }
    std::string summary =
        std::to_string(problems.size()) + " of " + std::to_string(outcomes.size()) +
        " calls from " + std::to_string(threads) +
        (concurrent ? " concurrent threads" : " threads (serialized by the host)") + " went wrong";
    for (std::size_t i = 0; i < problems.size() && i < kMaxListedFailures; ++i) {
      summary += "\n  " + problems[i];
    }
    verdicts.fail(target.name(), summary);
  }
  return verdicts.result();
}

Result none_escape(Context& ctx) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    const std::string text = ctx.words(5);
    std::vector<CallRequest> requests;
    for (const std::string_view options :
         {std::string_view("{}"), std::string_view(R"({"nonexistent":1})")}) {
      requests.push_back({.text = text, .options = options, .key = key_for_plain_use(target)});
      if (target.info().accepts_key && !target.info().requires_key) {
        requests.push_back({.text = text, .options = options, .key = &dummy_credential()});
      }
    }
    std::optional<std::string> problem;
    for (const CallRequest& request : requests) {
      const CallResult result = call_model(target, request);
      if (auto breach = contract_breach(target, request, result)) {
        problem = "with options " + std::string(request.options) +
                  (request.key != nullptr ? " and a key" : "") + ": " + *breach;
        break;
      }
    }
    if (problem) {
      verdicts.fail(target.name(), *problem);
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

}  // namespace

std::vector<Check> behaviour_checks() {
  const std::vector<std::string> needs = {"load.host_accepts"};
  return {
      {"stream.equals_buffered",
       "for deterministic models, the streamed chunks joined equal the buffered output",
       "LLMRT_PROMPT_STREAM may change how output is cut into chunks, never what it is; or do not "
       "declare LLMRT_CAP_DETERMINISTIC",
       needs, stream_equals_buffered},
      {"cancel.stop_via_write",
       "when write returns non-zero the call stops writing and returns within 2 s",
       "when out->write returns non-zero (or out->should_stop does), stop producing output and "
       "return LLMRT_CANCELLED; poll should_stop at least every few tens of ms while waiting",
       needs, stop_via_write},
      {"concurrency.reentrant",
       "8 threads x 50 calls on reentrant models (serialized calls from 4 threads otherwise) all "
       "answer cleanly, deterministically when declared",
       "declare LLMRT_CAP_REENTRANT only if execute is safe on several threads at once (no "
       "unguarded shared state); never assume calls come from one particular thread",
       needs, reentrant},
      {"exceptions.none_escape",
       "calls with options {} and {\"nonexistent\":1} return a status instead of throwing",
       "catch at the boundary: no C++ exception may leave execute or execute_with_key (the SDK "
       "does this: it turns exceptions into LLMRT_FAILED with the message)",
       needs, none_escape},
  };
}

}  // namespace llmrt::conformance
