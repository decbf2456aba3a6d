// Conversations and usage (ABI 2.2, docs/abi.md "Conversations and usage"): a model that sets
// LLMRT_CAP_CONVERSATION takes a system prompt and earlier turns (which only it is sent); every
// model reports its usage at most once per call, after its last write, or never.
#include <string>
#include <vector>

#include "context.hpp"
#include "host_call.hpp"

namespace llmrt::conformance {
namespace {

// Calls every model once (streaming and not) and judges the usage rule, which contract_breach
// applies to every call of every check.
Result usage_at_most_once_after_output(Context& ctx) {
  Verdicts verdicts;
  const std::string text = ctx.words(12);
  for (const Target& target : ctx.targets()) {
    bool failed = false;
    for (const bool stream : {false, true}) {
      const CallRequest request{.text = text, .stream = stream, .key = key_for_plain_use(target)};
      const CallResult result = call_model(target, request);
      if (auto breach = contract_breach(target, request, result)) {
        verdicts.fail(target.name(), describe_call(target, request) + ": " + *breach);
        failed = true;
        break;
      }
    }
    if (!failed) verdicts.pass();
  }
  return verdicts.result();
}

// A model that reads conversations answers a prompt with a system prompt and earlier turns
// (including an empty turn and one with a NUL byte) with OK or a defined status and a message.
Result conversation_accepted(Context& ctx) {
  Verdicts verdicts;
  const std::string first = ctx.words(6);
  const std::string second = ctx.words(8);
  const std::string with_nul = ctx.words(2) + std::string(1, '\0') + ctx.words(2);
  const std::string system = ctx.words(5);
  const std::vector<llmrt_message> history = {
      {{"user", 4}, {first.data(), first.size()}},
      {{"assistant", 9}, {second.data(), second.size()}},
      {{"user", 4}, {nullptr, 0}},
      {{"assistant", 9}, {with_nul.data(), with_nul.size()}},
  };
  const std::string text = ctx.words(4);
  for (const Target& target : ctx.targets()) {
    if (!target.info().conversation) {
      verdicts.skip(target.name(),
                    "it does not set LLMRT_CAP_CONVERSATION (it is sent only the "
                    "newest prompt)");
      continue;
    }
    const CallRequest request{
        .text = text, .key = key_for_plain_use(target), .system = system, .history = &history};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), "with a system prompt and 4 earlier turns: " + *breach);
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

const char* const kUsageHint =
    "call out->usage(...) at most once per call, after your last out->write(...), or not at all "
    "(the SDK's out.usage() sends only the first report)";
const char* const kConversationHint =
    "read prompt->system and prompt->history[0..history_count) as (data, size) bytes: a turn may "
    "be empty (data NULL) or contain NUL bytes; check LLMRT_PROMPT_HAS(prompt, history_count) "
    "first";

}  // namespace

std::vector<Check> conversation_checks() {
  const std::vector<std::string> needs = {"load.host_accepts"};
  return {
      {"conversation.usage_once_after_output",
       "usage is reported at most once per call, after the last write", kUsageHint, needs,
       usage_at_most_once_after_output},
      {"conversation.history_accepted",
       "a model with LLMRT_CAP_CONVERSATION takes a system prompt and earlier turns",
       kConversationHint, needs, conversation_accepted},
  };
}

}  // namespace llmrt::conformance
