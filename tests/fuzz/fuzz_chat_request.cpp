// A POST /v1/chat/completions body, as any client of `llmrt serve` may send it: parsed, then turned
// into a prompt for models of every kind. Only ProtocolError (a 400) may come out, and what comes
// out of a parse that worked must be a usable prompt.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "chat_prompt.hpp"
#include "fuzz_check.hpp"
#include "openai_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::serve;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ChatRequest chat;
  try {
    chat = parse_chat_request(body);
  } catch (const ProtocolError&) {
    return 0;
  }
  LLMRT_FUZZ_CHECK(!chat.model.empty(), "a parsed request names a model");
  LLMRT_FUZZ_CHECK(!chat.messages.empty(), "a parsed request has messages");
  const std::set<std::string> accepted_sets[] = {
      {}, {"messages"}, {"system", "temperature", "top_p", "max_tokens", "seed", "stop"}};
  for (const bool conversation : {false, true}) {
    for (const std::set<std::string>& accepted : accepted_sets) {
      ChatRequest copy = chat;
      llmrt::ModelInfo model;
      model.id = "fuzz";
      model.conversation = conversation;
      try {
        const ChatPrompt prompt = chat_prompt_for(copy, model, accepted);
        LLMRT_FUZZ_CHECK(prompt.text == chat.last_user_text, "the prompt is the last user message");
        if (!prompt.options.options_json.empty()) {
          boost::system::error_code ec;
          const boost::json::value options = boost::json::parse(prompt.options.options_json, ec);
          LLMRT_FUZZ_CHECK(!ec && options.is_object(), "the options are a JSON object");
        }
      } catch (const ProtocolError&) {
        LLMRT_FUZZ_CHECK(conversation && !accepted.count("messages"),
                         "only a conversation model refuses what is not a conversation");
      }
    }
  }
  return 0;
}
