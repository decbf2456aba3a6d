#include <llmrt/conversation.hpp>
#include <llmrt/error.hpp>

#include <chrono>
#include <mutex>
#include <random>

namespace llmrt {
namespace {

// A new conversation id: 12 hex digits of milliseconds since the epoch, so that ids sort by
// creation time, then 20 random hex digits. An id is not a secret, only unique: the random bits
// come from std::random_device, because OpenSSL's RAND_bytes would first set up its DRBG (~0.7 ms,
// an eighth of a whole `llmrt prompt`).
std::string new_conversation_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string id(32, '0');
  for (int i = 11; i >= 0; --i)
    id[11 - i] = kHex[(static_cast<std::uint64_t>(now) >> (4 * i)) & 0xF];
  unsigned char random[10];
  std::random_device device;
  for (int i = 0; i < 10; i += 2) {
    const unsigned int bits = device();
    random[i] = static_cast<unsigned char>(bits);
    random[i + 1] = static_cast<unsigned char>(bits >> 8);
  }
  for (int i = 0; i < 10; ++i) {
    id[12 + 2 * i] = kHex[random[i] >> 4];
    id[13 + 2 * i] = kHex[random[i] & 0xF];
  }
  return id;
}

}  // namespace

struct ConversationState {
  ConversationState(Model m, ConversationStart start)
      : model(std::move(m)),
        id(start.id.empty() ? new_conversation_id() : std::move(start.id)),
        system(std::move(start.system)),
        messages(std::move(start.history)) {}

  const Model model;
  const std::string id;

  struct Pending {
    std::string text;
    AsyncResponse response;
  };

  mutable std::mutex mutex;
  std::string system;
  std::vector<Message> messages;
  Usage usage;
  std::vector<Pending> pending;  // async turns not yet remembered, oldest first
  // The version of a stored key the first turn used: later turns stick to it, so that one
  // conversation never mixes key versions (unless that version leaves rotation).
  std::string key_version;

  void remember(std::string text, const Response& response) {
    if (key_version.empty()) key_version = response.key_version;
    if (response.cancelled) return;
    messages.push_back({"user", std::move(text)});
    messages.push_back({"assistant", response.text});
    if (response.usage) usage += *response.usage;
  }

  // Remembers the async turns that finished well; waits for those still running. Needs `mutex`.
  void settle() {
    for (Pending& turn : pending) {
      try {
        remember(std::move(turn.text), turn.response.get());
      } catch (const std::exception&) {
        // A failed turn is not part of the conversation; its caller got the error from get().
      }
    }
    pending.clear();
  }

  // The inputs of the next turn: the conversation so far, and its system prompt unless the turn
  // gives its own (which then stays for the turns after it).
  void prepare(PromptOptions& options) {
    settle();
    if (options.system.empty()) {
      options.system = system;
    } else {
      system = options.system;
    }
    options.history = messages;
    if (options.key_version.empty()) options.key_version = key_version;
  }
};

Conversation::Conversation(Model model, ConversationStart start)
    : state_(std::make_shared<ConversationState>(std::move(model), std::move(start))) {}

const std::string& Conversation::id() const {
  return state_->id;
}

const Model& Conversation::model() const {
  return state_->model;
}

Response Conversation::prompt(std::string_view text, PromptOptions options) {
  {
    std::lock_guard lock(state_->mutex);
    state_->prepare(options);
  }
  Response response = state_->model.prompt(text, std::move(options));
  std::lock_guard lock(state_->mutex);
  state_->settle();
  state_->remember(std::string(text), response);
  return response;
}

AsyncResponse Conversation::prompt_async(std::string text, PromptOptions options) {
  std::lock_guard lock(state_->mutex);
  state_->prepare(options);
  AsyncResponse response = state_->model.prompt_async(text, std::move(options));
  state_->pending.push_back({std::move(text), response});
  return response;
}

std::vector<Message> Conversation::messages() const {
  std::lock_guard lock(state_->mutex);
  state_->settle();
  return state_->messages;
}

std::string Conversation::system() const {
  std::lock_guard lock(state_->mutex);
  return state_->system;
}

Usage Conversation::usage() const {
  std::lock_guard lock(state_->mutex);
  state_->settle();
  return state_->usage;
}

Conversation Model::conversation(ConversationStart start) const {
  return Conversation(*this, std::move(start));
}

}  // namespace llmrt
