// How an OpenAI chat request becomes one llmrt prompt call for a given model: what of `messages`
// the model gets (the array as sent, a conversation, or the last user message alone), which
// sampling parameters it takes, and the warnings its Response will carry, known before the call
// for a stream's headers. Pure functions of their arguments: any thread.
#ifndef LLMRT_SERVE_CHAT_PROMPT_HPP
#define LLMRT_SERVE_CHAT_PROMPT_HPP

#include <llmrt/model.hpp>

#include <set>
#include <string>
#include <vector>

#include "openai_protocol.hpp"

namespace llmrt::serve {

struct ChatPrompt {
  std::string text;       // the last user message: the prompt
  PromptOptions options;  // options_json, system, history; no key (the caller adds it)
  std::string ignored;    // sampling parameters the model does not declare, eg: "seed,top_p"
};

// `accepted`: the option names the model's schema declares. A model that declares "messages" gets
// the array as sent; one that reads conversations (ModelInfo::conversation) gets the system text as
// its system prompt and the turns before the last user message as its history; any other model
// gets the system text as its "system" option if it declares one, else as the call's system
// prompt, and the earlier turns as its history, both of which the runtime does not send but warns
// of. Moves the history, the messages and the prompt text out of `chat`. Throws ProtocolError (a
// 400) when the model reads conversations and `messages` holds what one cannot carry (a tool
// message, a message after the last user message).
ChatPrompt chat_prompt_for(ChatRequest& chat, const ModelInfo& model,
                           const std::set<std::string>& accepted);

// The warnings the runtime will put on the call's Response, in its words (core/src/
// key_resolver.cpp, conversation_call.cpp): a key given to a model that takes none, a system prompt
// or earlier turns for a model that does not read conversations. For a stream's headers, which go
// out before the call ends; the end of the stream tells later warnings from these by their text.
std::vector<std::string> warnings_in_advance(const ModelInfo& model, const PromptOptions& options,
                                             bool key_given);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_CHAT_PROMPT_HPP
