// Odd prompts (docs/abi.md, "Status codes, errors and cancellation"): a prompt is (pointer, length)
// and may be empty, large, contain NUL bytes or invalid UTF-8. Whatever it is, the model answers
// LLMRT_OK or a defined status with a message.
#include <string>

#include "context.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

constexpr std::size_t kLargePrompt = 1u << 20;

// Calls every model with `text` and judges each answer.
Result prompt_every_model(Context& ctx, std::string_view text) {
  Verdicts verdicts;
  for (const Target& target : ctx.targets()) {
    const CallRequest request{.text = text, .key = key_for_plain_use(target)};
    const CallResult result = call_model(target, request);
    if (auto breach = contract_breach(target, request, result)) {
      verdicts.fail(target.name(), *breach);
    } else if (request.key != nullptr && result.status == LLMRT_KEY_REJECTED) {
      verdicts.skip(target.name(), "it requires a key and rejected the tool's dummy key (" +
                                       describe_answer(result) + ")");
    } else {
      verdicts.pass();
    }
  }
  return verdicts.result();
}

Result empty(Context& ctx) {
  return prompt_every_model(ctx, std::string_view());
}

Result large(Context& ctx) {
  std::string text;
  text.reserve(kLargePrompt + 16);
  while (text.size() < kLargePrompt) text += ctx.words(64) + "\n";
  text.resize(kLargePrompt);
  return prompt_every_model(ctx, text);
}

Result invalid_utf8(Context& ctx) {
  // A stray continuation byte, a truncated sequence, an overlong form, a UTF-16 surrogate, bytes
  // that never appear in UTF-8.
  const std::string text = ctx.words(4) + " \x80 caf\xC3 \xC0\xAF \xED\xA0\x80 \xFE\xFF " +
                           ctx.words(4) + " \xF4\x90\x80\x80";
  return prompt_every_model(ctx, text);
}

Result with_nul(Context& ctx) {
  std::string text = ctx.words(3);
  text += '\0';
  text += ctx.words(3);
  text += '\0';
  return prompt_every_model(ctx, text);
}

const char* const kPromptHint =
    "read the prompt as (data, size) bytes, not as a C string; return LLMRT_OK, or call "
    "out->error(...) with a message and return one of the defined statuses (LLMRT_BAD_REQUEST for "
    "input you cannot take); return LLMRT_CANCELLED only after the sink asked you to stop";

}  // namespace

std::vector<Check> prompt_checks() {
  const std::vector<std::string> needs = {"load.host_accepts"};
  return {
      {"prompt.empty", "an empty prompt gets OK or a defined status with a message", kPromptHint,
       needs, empty},
      {"prompt.large_1mib", "a 1 MiB prompt gets OK or a defined status with a message",
       kPromptHint, needs, large},
      {"prompt.invalid_utf8",
       "a prompt with invalid UTF-8 gets OK or a defined status with a message", kPromptHint, needs,
       invalid_utf8},
      {"prompt.with_nul", "a prompt with NUL bytes gets OK or a defined status with a message",
       kPromptHint, needs, with_nul},
  };
}

}  // namespace llmrt::conformance
