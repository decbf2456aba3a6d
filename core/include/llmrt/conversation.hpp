// Conversations: a model and the turns exchanged with it so far.
//
//   llmrt::Conversation chat = runtime.get_model("echo").conversation();
//   chat.prompt("Hi, I am Ann.", {.key = alice_key});
//   llmrt::Response reply = chat.prompt("What is my name?");  // sends both turns
//
// Keys are never part of a conversation. Every turn resolves its key again in the usual order
// (docs/keys.md): a per-call key given to one turn is used for that turn only, and the next turn
// without one falls back to the instance key, the environment, the keys file... exactly as a lone
// prompt would. Two conversations never share anything but the model.
//
// What a conversation remembers: each finished turn's prompt and reply, the system prompt (the
// last one a turn gave), and each turn's usage. A failed or cancelled turn is not remembered.
#ifndef LLMRT_CONVERSATION_HPP
#define LLMRT_CONVERSATION_HPP

#include <llmrt/model.hpp>
#include <llmrt/response.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

struct ConversationState;  // internal

// Threading: a Conversation is cheap to copy; copies share the turns. Its members may be called
// from any thread. Turns are meant to be sent one after another: a prompt sees every turn that had
// finished (or, for prompt_async, been queued) before it started.
//
// Errors: as Model::prompt; a turn that throws leaves the conversation as it was.
class Conversation {
 public:
  Conversation(Model model, ConversationStart start);

  // eg: "01hq3v8k2b6d0f4c5e7a9b1d3f"; unique, chosen at creation unless ConversationStart gave one.
  const std::string& id() const;
  const Model& model() const;

  // Sends `text` with the earlier turns (options.history is replaced by them) and, when
  // options.system is empty, the conversation's system prompt. Remembers the turn once it
  // succeeds. options.key / key_name are used for this turn only.
  Response prompt(std::string_view text, PromptOptions options = {});

  // As prompt(), on the runtime's thread pool. The turn is remembered when the next turn starts
  // (or messages() / usage() is called) if it has finished well by then; that waits for it.
  AsyncResponse prompt_async(std::string text, PromptOptions options = {});

  // The turns so far, oldest first ("user", "assistant", ...).
  std::vector<Message> messages() const;
  // The system prompt later turns get, "" for none.
  std::string system() const;
  // The sum of every remembered turn's reported usage (-1 counts: nothing reported).
  Usage usage() const;

 private:
  std::shared_ptr<ConversationState> state_;
};

}  // namespace llmrt

#endif  // LLMRT_CONVERSATION_HPP
