// POST /v1/chat/completions: an OpenAI request in, one llmrt prompt call with the client's key,
// an OpenAI response (JSON or SSE) out. The client's key lives in this call only.
#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <optional>

#include "gateway_context.hpp"
#include "openai_protocol.hpp"

namespace llmrt::serve {
namespace {

namespace json = boost::json;

// A request refused before any model call, in OpenAI's error shape.
struct Refusal {
  int status;
  std::string type;
  std::string code;
  std::string message;
  std::string param;
};

void send_error(httplib::Response& response, const Refusal& refusal) {
  response.status = refusal.status;
  if (refusal.status == 503) response.set_header("Retry-After", "1");
  response.set_content(error_body(refusal.message, refusal.type, refusal.code, refusal.param),
                       "application/json");
}

Refusal refusal_for(const Error& error) {
  const HttpError http = http_error_for(error.code());
  return {http.status, std::string(http.type), std::string(http.code), error.what(), ""};
}

// The client's key from `Authorization: Bearer KEY`, or nullopt without the header. The header's
// bytes in the request are wiped once copied: the key then lives only in the returned Key.
std::optional<Key> take_client_key(const httplib::Request& request) {
  auto header = request.headers.find("Authorization");
  if (header == request.headers.end()) return std::nullopt;
  // The request object is the server's own, non-const; only the handler's view of it is const.
  std::string& value = const_cast<std::string&>(header->second);
  constexpr std::string_view kScheme = "bearer ";
  const bool bearer = value.size() > kScheme.size() &&
                      std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                                 [](char a, char b) { return a == std::tolower(b); });
  std::optional<Key> key;
  if (bearer) {
    std::string_view token(value);
    token.remove_prefix(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (!token.empty()) key.emplace(token);
  }
  OPENSSL_cleanse(value.data(), value.size());
  if (!key) {
    throw Refusal{401, "authentication_error", "invalid_api_key",
                  "the Authorization header must be 'Bearer <key>'", ""};
  }
  return key;
}

// What of the request the model gets: the messages as-is if its schema takes "messages", else the
// last user message as the prompt text (and the system text if it takes "system"); sampling
// parameters only where its schema declares them.
PromptOptions prompt_options_for(const ChatRequest& chat, const std::set<std::string>& accepted,
                                 std::string& text, std::string& ignored) {
  json::object options;
  if (accepted.count("messages")) {
    options["messages"] = chat.messages;
  } else if (!chat.system_text.empty() && accepted.count("system")) {
    options["system"] = chat.system_text;
  }
  for (const auto& [name, value] : chat.sampling) {
    if (accepted.count(std::string(name))) {
      options[name] = value;
    } else {
      ignored += (ignored.empty() ? "" : ",") + std::string(name);
    }
  }
  text = chat.last_user_text;
  PromptOptions prompt;
  if (!options.empty()) prompt.options_json = json::serialize(options);
  return prompt;
}

void add_call_headers(httplib::Response& response, const std::string& ignored,
                      const std::vector<std::string>& warnings) {
  if (!ignored.empty()) response.set_header("X-Llmrt-Ignored-Parameters", ignored);
  for (const auto& warning : warnings) response.set_header("X-Llmrt-Warning", warning);
}

// Streams one async call as SSE, starting with a chunk that has already arrived.
struct StreamState {
  AsyncResponse call;
  std::unique_ptr<Admission::Ticket> ticket;  // the slot is held until the stream ends
  CompletionId id;
  std::string first_chunk;
  AccessRecord record;
};

bool write_text(httplib::DataSink& sink, const std::string& text) {
  return sink.is_writable() && sink.write(text.data(), text.size());
}

void stream_to_client(GatewayContext& context, const std::shared_ptr<StreamState>& state,
                      httplib::DataSink& sink) {
  bool open = write_text(sink, chunk_event(state->id, state->first_chunk, true));
  while (open) {
    std::optional<std::string> chunk = state->call.next_chunk();
    if (!chunk) break;
    open = write_text(sink, chunk_event(state->id, *chunk, false));
  }
  if (!open) {
    state->call.cancel();  // the client went away: stop the model too
    state->call.wait();
    return;
  }
  try {
    state->call.get();
    write_text(sink, final_events(state->id));
  } catch (const Error& error) {
    const HttpError http = http_error_for(error.code());
    write_text(sink, error_event(error.what(), http.type, http.code));
    state->record.status = http.status;  // logged as what the stream ended with
  }
  sink.done();
  (void)context;
}

}  // namespace

void handle_chat_completions(GatewayContext& context, const httplib::Request& request,
                             httplib::Response& response) {
  AccessRecord record{
      request.method, request.path, "", 0, "", false, std::chrono::steady_clock::now()};
  auto finish = [&](int status) {
    record.status = status;
    context.access_log.write(record);
  };
  try {
    std::optional<Key> key = take_client_key(request);
    if (key) record.key_fingerprint = key->fingerprint();
    if (!key && context.config.require_client_key) {
      throw Refusal{401, "authentication_error", "missing_api_key",
                    "this gateway needs a client key: send 'Authorization: Bearer <key>'", ""};
    }
    ChatRequest chat;
    try {
      chat = parse_chat_request(request.body);
    } catch (const ProtocolError& error) {
      throw Refusal{400, "invalid_request_error", "", error.what(), error.param()};
    }
    record.model = chat.model;
    record.stream = chat.stream;
    const auto accepted = context.model_options.find(chat.model);
    if (accepted == context.model_options.end()) {
      throw Refusal{404, "invalid_request_error", "model_not_found",
                    "the model '" + chat.model + "' does not exist; see GET /v1/models", "model"};
    }
    const Model model = context.runtime.get_model(chat.model);
    std::string text;
    std::string ignored;
    PromptOptions options = prompt_options_for(chat, accepted->second, text, ignored);
    const bool client_key_given = key.has_value();
    options.key = std::move(key);
    options.stream = chat.stream;

    std::unique_ptr<Admission::Ticket> ticket = context.admission.try_enter();
    if (!ticket) {
      throw Refusal{503, "server_error", "overloaded",
                    "the gateway is at its limit of concurrent calls; retry shortly", ""};
    }
    if (!chat.stream) {
      const Response answer = model.prompt(text, std::move(options));
      add_call_headers(response, ignored, answer.warnings);
      response.set_header("X-Llmrt-Key-Source", std::string(to_string(answer.key_source)));
      response.set_content(completion_body(CompletionId::make(chat.model), answer.text),
                           "application/json");
      finish(200);
      return;
    }

    // Streaming: wait for the first chunk (or the end) before answering, so that errors before
    // any output still get their proper HTTP status.
    AsyncResponse call = model.prompt_async(std::move(text), std::move(options));
    std::optional<std::string> first = call.next_chunk();
    if (!first) {
      const Response answer = call.get();  // throws the call's error
      first = std::string();
      add_call_headers(response, ignored, answer.warnings);
    } else {
      // The call's own warnings come only at its end, after the headers have gone; the one that
      // matters here (a key the model cannot take) is known now.
      std::vector<std::string> warnings;
      if (client_key_given && !model.info().accepts_key) {
        warnings.push_back("model '" + chat.model +
                           "' does not use keys; the key given for this call was not sent");
      }
      add_call_headers(response, ignored, warnings);
    }
    auto state = std::make_shared<StreamState>(StreamState{std::move(call), std::move(ticket),
                                                           CompletionId::make(chat.model),
                                                           std::move(*first), record});
    state->record.status = 200;
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [&context, state](std::size_t, httplib::DataSink& sink) {
          stream_to_client(context, state, sink);
          return true;
        },
        [&context, state](bool) { context.access_log.write(state->record); });
  } catch (const Refusal& refusal) {
    send_error(response, refusal);
    finish(refusal.status);
  } catch (const Error& error) {
    const Refusal refusal = refusal_for(error);
    send_error(response, refusal);
    finish(refusal.status);
  } catch (const std::exception& error) {
    send_error(response, {500, "server_error", "", error.what(), ""});
    finish(500);
  }
}

}  // namespace llmrt::serve
