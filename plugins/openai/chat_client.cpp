#include "chat_client.hpp"

#include <httplib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <optional>

#include "error_text.hpp"
#include "http_call.hpp"
#include "json_fields.hpp"
#include "sse_parser.hpp"

namespace llmrt::openai {
namespace {

namespace json = boost::json;
using provider::object_at;
using provider::provider_message;
using provider::scrub;
using provider::SseEvent;
using provider::SseParser;
using provider::string_at;
using provider::throw_error;
using provider::throw_http_error;

constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::size_t kMaxBody = 64u << 20;

// choices[0] of a completion or a chunk, or nullptr.
const json::object* first_choice(const json::object& object) {
  const json::value* choices = object.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return nullptr;
  const json::value& first = choices->as_array().front();
  return first.is_object() ? &first.as_object() : nullptr;
}

// The answer being received: fed by httplib's callbacks on the calling thread, then finished.
class ResponseReader final : public provider::AttemptReader {
 public:
  ResponseReader(const BaseUrl& base, const ChatCall& call, const provider::HttpRequest& request,
                 sdk::Output& out)
      : base_(base),
        call_(call),
        request_(request),
        out_(out),
        url_(base.text + "/chat/completions") {}

  void on_response(const httplib::Response& response) override {
    status_ = response.status;
    sse_ = success() && call_.stream &&
           provider::is_event_stream(response.get_header_value("Content-Type"));
  }

  // Every exception is kept for finish(): a failed attempt may be retried.
  bool on_data(std::string_view bytes) noexcept override {
    const std::size_t size = bytes.size();
    try {
      if (out_.stop_requested()) {
        cancelled_ = true;
        return false;
      }
      if (!success()) {
        body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, body_.size())));
        return true;
      }
      if (sse_) {
        // False once [DONE] arrived too: the answer is complete, whatever the server does next
        // (some proxies hold the connection open), so the transfer ends there.
        return !done_ && parser_.feed(bytes, [this](SseEvent& event) { return on_event(event); });
      }
      if (body_.size() + size > kMaxBody) {
        fail(LLMRT_FAILED, "the response from " + url_ + " is larger than 64 MiB");
      }
      body_.append(bytes);
      return true;
    } catch (...) {
      failure_ = std::current_exception();
      return false;
    }
  }

  // Sends the API's usage, if it gave one, once the whole answer has been written.
  bool delivered() const override { return delivered_; }

  void report_usage() override {
    if (usage_ && !cancelled_ && !out_.stop_requested()) {
      out_.usage(usage_->input, usage_->output, usage_->details);
    }
  }

  void finish(const provider::TransferEnd& end) override {
    if (failure_) std::rethrow_exception(failure_);
    if (cancelled_ || out_.stop_requested()) return;
    if (!end.sent) {
      if (status_ > 0 && !success()) throw_http_error(status_, url_, body_, model(), key());
      // A stream that got to its end is complete even if the connection then broke (or was
      // closed by us right after [DONE]).
      if (!(sse_ && (done_ || finished_))) {
        provider::throw_transport_failure(base_, url_, request_, end, status_ > 0, sse_, "[DONE]");
      }
    }
    if (!success()) throw_http_error(status_, url_, body_, model(), key());
    if (sse_) {
      if (!done_) parser_.finish([this](SseEvent& event) { return on_event(event); });
      if (cancelled_) return;
      if (!done_ && !finished_) {
        fail(LLMRT_FAILED, "the stream from " + url_ +
                               " ended early (it closed before [DONE] or a finish_reason)");
      }
      return;
    }
    write_whole_answer();
  }

 private:
  bool success() const { return status_ >= 200 && status_ <= 299; }
  std::string_view key() const { return call_.key; }
  std::string_view model() const { return call_.upstream_model; }

  [[noreturn]] void fail(llmrt_status status, const std::string& message) const {
    throw_error(status, message, key());
  }

  // An {"error": ...} object in place of an answer.
  [[noreturn]] void provider_error(std::string_view text, std::string_view where) const {
    fail(LLMRT_FAILED, std::string(where) + " from " + url_ +
                           " reported an error: " + scrub(provider_message(text), key()));
  }

  bool on_event(SseEvent& event) {
    if (event.data == "[DONE]") {
      done_ = true;
      return false;  // nothing after it counts
    }
    boost::system::error_code ec;
    const json::value chunk = json::parse(event.data, ec);
    if (ec || !chunk.is_object()) {
      fail(LLMRT_FAILED, "the stream from " + url_ + " sent an event that is not a JSON object: " +
                             scrub(event.data.substr(0, 200), key()));
    }
    const json::object& object = chunk.as_object();
    if (object.contains("error")) provider_error(event.data, "the stream");
    note_usage(object);
    const json::object* choice = first_choice(object);
    if (choice == nullptr) return true;  // eg: a usage-only chunk
    const json::object* delta = object_at(choice, "delta");
    for (const std::string_view text : {string_at(delta, "content"), string_at(delta, "refusal")}) {
      if (text.empty()) continue;
      delivered_ = true;
      if (!out_.write(text)) {
        cancelled_ = true;
        return false;
      }
    }
    if (const json::value* reason = choice->if_contains("finish_reason");
        reason != nullptr && !reason->is_null()) {
      finished_ = true;
    }
    return true;
  }

  void write_whole_answer() {
    boost::system::error_code ec;
    const json::value parsed = json::parse(body_, ec);
    if (ec || !parsed.is_object()) {
      fail(LLMRT_FAILED, "the response from " + url_ + " is not valid JSON: " +
                             scrub(provider_message(body_.substr(0, 200)), key()));
    }
    const json::object& object = parsed.as_object();
    if (object.contains("error")) provider_error(body_, "the response");
    note_usage(object);
    const json::object* choice = first_choice(object);
    const json::object* message = choice ? object_at(choice, "message") : nullptr;
    if (message == nullptr) {
      fail(LLMRT_FAILED, "the response from " + url_ + " has no choices[0].message");
    }
    std::string_view text = string_at(message, "content");
    if (text.empty()) text = string_at(message, "refusal");
    if (!text.empty()) {
      delivered_ = true;
      if (!out_.write(text)) cancelled_ = true;
    }
  }

  // {"usage": {"prompt_tokens", "completion_tokens", ...}} in a completion or a stream's last
  // chunk.
  void note_usage(const json::object& object) {
    const json::object* usage = object_at(&object, "usage");
    if (usage == nullptr) return;
    const auto count = [usage](std::string_view name) -> std::int64_t {
      const json::value* value = usage->if_contains(name);
      return value != nullptr && value->is_int64() && value->as_int64() >= 0 ? value->as_int64()
                                                                             : -1;
    };
    usage_ = Usage{count("prompt_tokens"), count("completion_tokens"), json::serialize(*usage)};
  }

  struct Usage {
    std::int64_t input = -1;
    std::int64_t output = -1;
    std::string details;  // the API's whole usage object
  };

  const BaseUrl& base_;
  const ChatCall& call_;
  const provider::HttpRequest& request_;
  sdk::Output& out_;
  const std::string url_;
  bool delivered_ = false;
  int status_ = 0;
  bool sse_ = false;
  bool done_ = false;      // data: [DONE] arrived
  bool finished_ = false;  // a chunk had a finish_reason
  bool cancelled_ = false;
  std::string body_;  // the whole answer (not streamed) or an error body
  SseParser parser_;
  std::exception_ptr failure_;
  std::optional<Usage> usage_;
};

}  // namespace

void send_chat(const ModelConfig& model, const ChatCall& call, sdk::Output& out) {
  if (out.stop_requested()) return;

  provider::HttpRequest request = provider::model_request(model, "/chat/completions", call);
  request.headers.emplace("Content-Type", "application/json");
  request.headers.emplace("Accept", call.stream ? "text/event-stream" : "application/json");
  request.headers.emplace("User-Agent", "llmrt-openai/1.1");
  request.secret_headers.push_back("Authorization");
  if (!call.key.empty()) {
    // Built in place, at its final size: no other copy of the key is made here; perform() wipes
    // it after the call.
    auto header = request.headers.emplace("Authorization", std::string());
    header->second.reserve(7 + call.key.size());
    header->second.append("Bearer ").append(call.key);
  }
  if (!call.session_token.empty() && !model.session_token_header.empty()) {
    request.secret_headers.push_back(model.session_token_header);
    auto header = request.headers.emplace(model.session_token_header, std::string());
    header->second.assign(call.session_token);
  }
  provider::perform(
      request, [&] { return std::make_unique<ResponseReader>(model.base, call, request, out); },
      out);
}

}  // namespace llmrt::openai
