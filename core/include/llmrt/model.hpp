// Models: what a plugin offers, and the handle a host prompts through.
#ifndef LLMRT_MODEL_HPP
#define LLMRT_MODEL_HPP

#include <llmrt/key.hpp>
#include <llmrt/response.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrt {

// A model's description, copied out of the plugin at load time.
struct ModelInfo {
  std::string id;                   // eg: "echo"
  std::string display_name;         // eg: "Echo (offline)"; the id when the plugin gave none
  std::string plugin_name;          // eg: "echo"
  std::string plugin_version;       // eg: "1.0.0"
  std::string plugin_path;          // the file it was loaded from
  std::uint32_t abi_version = 0;    // the plugin's ABI, (major << 16) | minor
  std::string key_name;             // keys-file entry, eg: "openai"; empty if keys are not taken
  std::string key_env_var;          // eg: "OPENAI_API_KEY"; may be empty
  bool accepts_key = false;         // has the keyed entry point (never true for ABI v1)
  bool requires_key = false;        // fails without a key
  bool streaming = false;           // emits output in several chunks
  bool reentrant = false;           // may run several calls at once
  bool deterministic = false;       // same prompt and options give the same output
  bool conversation = false;        // reads the system prompt and earlier turns (ABI 2.2+)
  std::string options_schema_json;  // JSON schema of its options; "{}" when it has none
};

// One named option value as typed by a user, eg: {"temperature", "0.7"}. It is converted to the
// type the model's schema declares for that name.
using OptionValues = std::vector<std::pair<std::string, std::string>>;

// One earlier turn of a conversation.
struct Message {
  std::string role;     // "user" (a prompt) or "assistant" (a reply)
  std::string content;  // eg: "What is 2+2?"
};

// Everything about one prompt call besides its text. Move-only (it may carry a key).
struct PromptOptions {
  // An explicit key for this call only, always used literally. Wins over every other source.
  std::optional<Key> key;
  // Use the keys-file entry with this name for this call (an explicit, separate form: a string is
  // never guessed to be a name or a key). Cannot be combined with `key`.
  std::string key_name;
  // Model options by name, as strings; checked and converted against the model's schema.
  OptionValues options;
  // Model options as a JSON object text, eg: R"({"temperature":0.2})"; merged with `options`.
  std::string options_json;
  // The system prompt for this call, eg: "Answer in French."; empty for none.
  std::string system;
  // The earlier turns of the conversation this prompt continues, oldest first (Conversation fills
  // it). Sent only to models that read conversations (ModelInfo::conversation); any other model
  // gets only the prompt text, and the Response carries a warning saying what was not sent.
  std::vector<Message> history;
  // Ask the plugin to stream (it may still answer in one chunk).
  bool stream = true;
  // Called with each chunk as it arrives: on the calling thread for Model::prompt, on a worker
  // thread for Model::prompt_async. Return false to stop the call (it ends as cancelled).
  // It must not throw through the plugin: an exception it throws stops the call and is rethrown
  // by prompt() / AsyncResponse::get().
  std::function<bool(std::string_view chunk)> on_chunk;
};

// Settings of an independent model instance (Runtime::create_model), eg: one per tenant.
struct ModelSettings {
  std::optional<Key> key;  // this instance's key; a per-call key still wins over it
  OptionValues options;    // default options for every call; per-call options override them
};

class ModelInstance;  // internal
class Conversation;

// How a conversation starts: empty for a new one, or the turns of one being continued (eg: read
// back from the log).
struct ConversationStart {
  std::string id;                // eg: "01hq3v..."; empty: a new random id
  std::string system;            // the system prompt later turns get unless they give their own
  std::vector<Message> history;  // earlier turns, oldest first, alternating user and assistant
};

// A handle to a model instance. Cheap to copy; copies share the instance. Keeps the plugin loaded
// for as long as it (or a response from it) lives, even after the Runtime is destroyed.
//
// Threading: prompt() and prompt_async() may be called from any number of threads at once. A
// model that is not reentrant is still only ever called by one thread at a time (the runtime
// serializes its calls).
//
// Errors: prompt() throws llmrt::Error (see error.hpp) for a missing or invalid key, an unknown or
// ill-typed option, or a plugin failure; the message never contains a key.
class Model {
 public:
  explicit Model(std::shared_ptr<ModelInstance> instance);

  const ModelInfo& info() const;
  const std::string& id() const { return info().id; }

  // Runs one prompt on the calling thread and returns when it is done. Streams through
  // options.on_chunk as chunks arrive.
  Response prompt(std::string_view text, PromptOptions options = {}) const;

  // Queues one prompt on the runtime's bounded thread pool. Throws Error(busy) when the queue is
  // full, and Error(usage) once the Runtime that made this model is being destroyed or gone.
  // Each model has its own queue in the pool: calls of a model that is not reentrant run one at a
  // time and occupy at most one worker, so they never hold up other models' calls.
  AsyncResponse prompt_async(std::string text, PromptOptions options = {}) const;

  // prompt_async calls of this model (all its instances in the Runtime that made this handle)
  // waiting for a worker, and running: for per-model admission, eg: a gateway that refuses a model
  // whose queue is long while others still have room. All zero once the Runtime is gone.
  struct AsyncLoad {
    std::size_t queued = 0;
    std::size_t running = 0;
  };
  AsyncLoad async_load() const;
  // A new conversation with this model (conversation.hpp). Keys are never part of it: every turn
  // resolves its own key.
  Conversation conversation(ConversationStart start = {}) const;

  // Legacy: sets a key on this instance (for a shared get_model() handle, on the shared model).
  // Kept for compatibility with llm's `model.key = ...`; it never overrides a per-call key. Prefer
  // per-call keys or create_model() in multi-tenant code.
  void set_key(Key key) const;

 private:
  std::shared_ptr<ModelInstance> instance_;
};

}  // namespace llmrt

#endif  // LLMRT_MODEL_HPP
