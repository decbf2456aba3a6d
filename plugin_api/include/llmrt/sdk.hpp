// llmrt plugin SDK: header-only C++20 on top of <llmrt/plugin.h>. Depends on nothing else.
//
// A plugin author writes a plain class per model and one export macro:
//
//   struct Shout {
//     static constexpr llmrt::sdk::ModelInfo info{.id = "shout", .streaming = true};
//     void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out) {
//       out.write(prompt.text);
//     }
//     // Optional: the keyed form. Its presence alone sets LLMRT_CAP_ACCEPTS_KEY.
//     void execute(const llmrt::sdk::Prompt& prompt, llmrt::sdk::Output& out,
//                  const llmrt::sdk::Key& key);
//   };
//
// A model that reads whole conversations takes `const llmrt::sdk::ConversationPrompt&` instead of
// `const Prompt&` (in every execute it has): that alone sets LLMRT_CAP_CONVERSATION, and the model
// then finds the system prompt and the earlier turns in prompt.system() and prompt.history().
// Any model may report token usage once, after its last write: out.usage(input, output).
//   LLMRT_PLUGIN("shout", "1.0.0", Shout)
//
// What the SDK does for the author:
//  - detects at compile time whether the model reads conversations (its execute needs a
//    ConversationPrompt) and sets LLMRT_CAP_CONVERSATION from that;
//  - detects at compile time whether the keyed `execute` exists (a requires-expression, the C++
//    analogue of Python llm's `_accepts_parameter`) and sets ACCEPTS_KEY and `execute_with_key`
//    from that one fact, so flag and function always agree;
//  - catches every exception at the boundary: `sdk::Error` keeps its status, anything else becomes
//    LLMRT_FAILED with what() as the message;
//  - answers version negotiation and unknown extension lookups.
//
// Threading: one instance of each model class is created on first use and shared by all calls.
// Declare `.reentrant = true` only if `execute` is safe to run on several threads at once; the host
// otherwise serializes calls to that model.
#ifndef LLMRT_SDK_HPP
#define LLMRT_SDK_HPP

#include <llmrt/plugin.h>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace llmrt::sdk {

// The static description of a model. Every pointer must point to a string literal (or other storage
// that lives as long as the plugin).
struct ModelInfo {
  const char* id = nullptr;              // eg: "echo", mandatory
  const char* display_name = nullptr;    // eg: "Echo", optional
  const char* key_name = nullptr;        // eg: "openai"; mandatory for a model with a keyed execute
  const char* key_env_var = nullptr;     // eg: "OPENAI_API_KEY", optional
  bool requires_key = false;             // the model fails without a key
  bool streaming = false;                // writes output in several chunks as it comes
  bool reentrant = false;                // execute may run on several threads at once
  bool deterministic = false;            // same prompt and options give the same output
  const char* options_schema = nullptr;  // JSON schema of the options, optional
};

// One prompt, borrowed for the call only: copy what you need to keep.
struct Prompt {
  std::string_view text;          // may be empty, may contain any bytes
  std::string_view options_json;  // a JSON object, already checked against the schema
  bool stream = false;            // the caller wants output as it is produced
};

// One earlier turn of a conversation, borrowed for the call only.
struct Message {
  std::string_view role;     // "user" or "assistant"
  std::string_view content;  // eg: "What is 2+2?"
};

// The earlier turns of a conversation, oldest first: a view of the host's array, for the call only.
class History {
 public:
  History() = default;
  History(const llmrt_message* turns, std::size_t count) : turns_(turns), count_(count) {}
  std::size_t size() const { return turns_ == nullptr ? 0 : count_; }
  bool empty() const { return size() == 0; }
  Message operator[](std::size_t index) const {
    return {{turns_[index].role.data, turns_[index].role.size},
            {turns_[index].content.data, turns_[index].content.size}};
  }

  class iterator {
   public:
    iterator(const History* history, std::size_t index) : history_(history), index_(index) {}
    Message operator*() const { return (*history_)[index_]; }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    const History* history_;
    std::size_t index_;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size()}; }

 private:
  const llmrt_message* turns_ = nullptr;
  std::size_t count_ = 0;
};

// A prompt with its conversation: what a model that reads conversations takes in execute. Taking
// it is what sets LLMRT_CAP_CONVERSATION; the host then passes the system prompt and the earlier
// turns. Borrowed for the call only.
class ConversationPrompt : public Prompt {
 public:
  ConversationPrompt(Prompt prompt, std::string_view system, History history)
      : Prompt(prompt), system_(system), history_(history) {}
  // The system prompt, eg: "Answer in French."; empty when there is none.
  std::string_view system() const { return system_; }
  // The earlier turns, oldest first; `text` is the user turn that follows them.
  const History& history() const { return history_; }

 private:
  std::string_view system_;
  History history_;
};

// The key for one call, borrowed for the call only. Do not store it, log it, or put it in an error
// message. Deliberately neither copyable nor printable.
class Key {
 public:
  explicit Key(const llmrt_credential& credential) : credential_(credential) {}
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  std::string_view value() const { return {credential_.key.data, credential_.key.size}; }

  // The session token that goes with the key (a composite credential); empty when there is none or
  // the host predates ABI 2.1.
  std::string_view session_token() const {
    if (!LLMRT_CREDENTIAL_HAS(&credential_, session_token)) return {};
    return {credential_.session_token.data, credential_.session_token.size};
  }

  // When the credential expires, in seconds since the Unix epoch; 0 when it does not (or the host
  // predates ABI 2.1).
  std::int64_t expires_at() const {
    return LLMRT_CREDENTIAL_HAS(&credential_, expires_at) ? credential_.expires_at : 0;
  }

 private:
  const llmrt_credential& credential_;
};

// Where output goes. Valid only during the call, on the calling thread.
class Output {
 public:
  explicit Output(const llmrt_sink& sink) : sink_(sink) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Sends a chunk. Returns false once the host wants the call to stop: return from execute then.
  bool write(std::string_view chunk) {
    if (stopped_) return false;
    if (sink_.write(sink_.host_data, chunk.data(), chunk.size()) != 0) stopped_ = true;
    return !stopped_;
  }

  // Reports the call's token usage (-1: unknown), with the provider's own figures as a JSON object
  // if it has more. Call it at most once, after the last write. Returns false (and sends nothing)
  // when it was already reported or the host predates ABI 2.2.
  bool usage(std::int64_t input_tokens, std::int64_t output_tokens,
             std::string_view details_json = {}) {
    if (usage_reported_ || !LLMRT_SINK_HAS(&sink_, usage) || sink_.usage == nullptr) return false;
    usage_reported_ = true;
    const llmrt_usage report = {sizeof(llmrt_usage),
                                input_tokens,
                                output_tokens,
                                {details_json.data(), details_json.size()}};
    sink_.usage(sink_.host_data, &report);
    return true;
  }

  // True once the host wants the call to stop; poll it while waiting.
  bool stop_requested() {
    if (!stopped_ && sink_.should_stop != nullptr && sink_.should_stop(sink_.host_data) != 0) {
      stopped_ = true;
    }
    return stopped_;
  }

  // Used by the SDK's boundary: records an error message for the host.
  void report_error(std::string_view message) {
    sink_.error(sink_.host_data, message.data(), message.size());
  }

 private:
  const llmrt_sink& sink_;
  bool stopped_ = false;
  bool usage_reported_ = false;
};

// Throw this from execute to fail a call with a specific status and message.
class Error : public std::exception {
 public:
  Error(llmrt_status status, std::string message) : status_(status), message_(std::move(message)) {}
  explicit Error(std::string message) : Error(LLMRT_FAILED, std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  llmrt_status status() const noexcept { return status_; }

 private:
  llmrt_status status_;
  std::string message_;
};

// Each execute form is looked for with a ConversationPrompt (which also binds to `const Prompt&`).
template <class M>
concept HasPlainExecute = requires(M& model, const ConversationPrompt& prompt, Output& out) {
  model.execute(prompt, out);
};

template <class M>
concept HasKeyedExecute = requires(M& model, const ConversationPrompt& prompt, Output& out,
                                   const Key& key) {
  model.execute(prompt, out, key);
};

// A form reads conversations when it cannot take a plain Prompt, ie: it needs a ConversationPrompt.
template <class M>
concept PlainExecuteTakesPrompt = requires(M& model, const Prompt& prompt, Output& out) {
  model.execute(prompt, out);
};

template <class M>
concept KeyedExecuteTakesPrompt = requires(M& model, const Prompt& prompt, Output& out,
                                           const Key& key) {
  model.execute(prompt, out, key);
};

template <class M>
inline constexpr bool kReadsConversation = (HasPlainExecute<M> && !PlainExecuteTakesPrompt<M>) ||
                                           (HasKeyedExecute<M> && !KeyedExecuteTakesPrompt<M>);

namespace detail {

template <class M>
M& instance() {
  static M model;  // thread-safe lazy construction, inside the boundary's try block
  return model;
}

inline ConversationPrompt to_prompt(const llmrt_prompt* prompt) {
  Prompt plain{std::string_view(prompt->text.data, prompt->text.size),
               std::string_view(prompt->options.data, prompt->options.size),
               (prompt->flags & LLMRT_PROMPT_STREAM) != 0};
  if (!LLMRT_PROMPT_HAS(prompt, history_count)) return ConversationPrompt(plain, {}, {});
  return ConversationPrompt(plain, std::string_view(prompt->system.data, prompt->system.size),
                            History(prompt->history, prompt->history_count));
}

// Runs `body` with every exception turned into a status and a message: nothing crosses the ABI.
template <class Body>
llmrt_status guarded(const llmrt_sink* sink, Body&& body) noexcept {
  Output out(*sink);
  try {
    body(out);
    return out.stop_requested() ? LLMRT_CANCELLED : LLMRT_OK;
  } catch (const Error& error) {
    out.report_error(error.what());
    return error.status();
  } catch (const std::exception& error) {
    out.report_error(error.what());
    return LLMRT_FAILED;
  } catch (...) {
    out.report_error("the plugin threw an exception that is not a std::exception");
    return LLMRT_FAILED;
  }
}

template <class M>
llmrt_status execute_plain(const llmrt_model*, const llmrt_prompt* prompt,
                           const llmrt_sink* sink) noexcept {
  return guarded(sink, [&](Output& out) {
    if constexpr (HasPlainExecute<M>) {
      instance<M>().execute(to_prompt(prompt), out);
    } else {
      throw Error(LLMRT_BAD_REQUEST, std::string("model '") + M::info.id + "' needs a key");
    }
  });
}

template <class M>
llmrt_status execute_keyed(const llmrt_model*, const llmrt_prompt* prompt,
                           const llmrt_credential* credential, const llmrt_sink* sink) noexcept {
  return guarded(sink, [&](Output& out) {
    const Key key(*credential);
    instance<M>().execute(to_prompt(prompt), out, key);
  });
}

template <class M>
constexpr uint64_t capabilities() {
  constexpr ModelInfo info = M::info;
  uint64_t caps = 0;
  if (HasKeyedExecute<M>) caps |= LLMRT_CAP_ACCEPTS_KEY;
  if (info.requires_key) caps |= LLMRT_CAP_REQUIRES_KEY;
  if (info.streaming) caps |= LLMRT_CAP_STREAMING;
  if (info.reentrant) caps |= LLMRT_CAP_REENTRANT;
  if (info.deterministic) caps |= LLMRT_CAP_DETERMINISTIC;
  if (kReadsConversation<M>) caps |= LLMRT_CAP_CONVERSATION;
  return caps;
}

template <class M>
const llmrt_model* describe() {
  static_assert(HasPlainExecute<M> || HasKeyedExecute<M>,
                "a model needs execute(const Prompt&, Output&) and/or "
                "execute(const Prompt&, Output&, const Key&)");
  static_assert(HasPlainExecute<M> || M::info.requires_key,
                "a model with only the keyed execute must set requires_key = true");
  static_assert(
      !HasKeyedExecute<M> || M::info.key_name != nullptr,
      "a model with the keyed execute needs key_name (its keys-file entry, eg: \"openai\")");
  static_assert(!HasPlainExecute<M> || !HasKeyedExecute<M> ||
                    PlainExecuteTakesPrompt<M> == KeyedExecuteTakesPrompt<M>,
                "take ConversationPrompt in every execute of a model, or in none");
  static_assert(!M::info.requires_key || HasKeyedExecute<M>,
                "requires_key = true needs the keyed execute(const Prompt&, Output&, const Key&)");
  static const llmrt_model model = [] {
    llmrt_model m{};
    m.struct_size = sizeof(llmrt_model);
    m.id = M::info.id;
    m.display_name = M::info.display_name;
    m.options_schema_json = M::info.options_schema;
    m.model_data = nullptr;
    m.execute = &execute_plain<M>;
    m.key_name = M::info.key_name;
    m.key_env_var = M::info.key_env_var;
    m.capabilities = capabilities<M>();
    if constexpr (HasKeyedExecute<M>) m.execute_with_key = &execute_keyed<M>;
    return m;
  }();
  return &model;
}

inline const void* no_extensions(const char*) {
  return nullptr;
}

template <class... Models>
const llmrt_plugin* entry(const char* name, const char* version, const llmrt_host_info* host,
                          uint32_t* plugin_abi_version) noexcept {
  if (plugin_abi_version != nullptr) *plugin_abi_version = LLMRT_ABI_VERSION;
  if (host == nullptr || plugin_abi_version == nullptr) return nullptr;
  if (host->struct_size < offsetof(llmrt_host_info, abi_version) + sizeof(uint32_t)) return nullptr;
  // An older host cannot read this layout: answer our version and nothing else.
  if (LLMRT_ABI_MAJOR(host->abi_version) < LLMRT_ABI_VERSION_MAJOR) return nullptr;
  static const llmrt_model* const models[] = {describe<Models>()...};
  static const llmrt_plugin plugin = {
      sizeof(llmrt_plugin), LLMRT_ABI_VERSION, name, version, sizeof...(Models), models,
      &no_extensions};
  return &plugin;
}

}  // namespace detail
}  // namespace llmrt::sdk

// Exports the plugin entry point for the listed model classes. Use once per plugin.
#define LLMRT_PLUGIN(NAME, VERSION, ...)                                                         \
  extern "C" LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info* host,    \
                                                                 uint32_t* plugin_abi_version) { \
    return ::llmrt::sdk::detail::entry<__VA_ARGS__>(NAME, VERSION, host, plugin_abi_version);    \
  }

#endif  // LLMRT_SDK_HPP
