#include "messages_client.hpp"

#include <httplib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <optional>

#include "error_text.hpp"
#include "http_call.hpp"
#include "json_fields.hpp"
#include "sse_parser.hpp"

namespace llmrt::anthropic {
namespace {

namespace json = boost::json;
using provider::object_at;
using provider::scrub;
using provider::string_at;

constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::size_t kMaxBody = 64u << 20;

// The answer being received, on the calling thread (provider::perform).
class MessagesReader final : public provider::AttemptReader {
 public:
  MessagesReader(const ModelConfig& model, const MessagesCall& call,
                 const provider::HttpRequest& request, sdk::Output& out)
      : model_(model),
        call_(call),
        request_(request),
        out_(out),
        url_(model.base.text + "/v1/messages") {}

  void on_response(const httplib::Response& response) override {
    status_ = response.status;
    sse_ = success() && call_.stream &&
           provider::is_event_stream(response.get_header_value("Content-Type"));
  }

  bool on_data(std::string_view bytes) noexcept override {
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
        return !stopped_ &&
               parser_.feed(bytes, [this](provider::SseEvent& event) { return on_event(event); });
      }
      if (body_.size() + bytes.size() > kMaxBody) {
        fail(LLMRT_FAILED, "the response from " + url_ + " is larger than 64 MiB");
      }
      body_.append(bytes);
      return true;
    } catch (...) {
      failure_ = std::current_exception();
      return false;
    }
  }

  void finish(const provider::TransferEnd& end) override {
    if (failure_) std::rethrow_exception(failure_);
    if (cancelled_ || out_.stop_requested()) return;
    if (!end.sent) {
      if (status_ > 0 && !success()) http_error();
      if (!(sse_ && stopped_)) {
        provider::throw_transport_failure(model_.base, url_, request_, end, status_ > 0, sse_,
                                          "message_stop");
      }
    }
    if (!success()) http_error();
    if (sse_) {
      if (!stopped_) {
        parser_.finish([this](provider::SseEvent& event) { return on_event(event); });
      }
      if (cancelled_) return;
      if (!stopped_) {
        fail(LLMRT_FAILED,
             "the stream from " + url_ + " ended early (it closed before message_stop)");
      }
      return;
    }
    write_whole_message();
  }

  void report_usage() override {
    if (cancelled_ || out_.stop_requested() || (input_tokens_ < 0 && output_tokens_ < 0)) return;
    usage_["input_tokens"] = input_tokens_;
    usage_["output_tokens"] = output_tokens_;
    out_.usage(input_tokens_, output_tokens_, json::serialize(usage_));
  }

  bool delivered() const override { return delivered_; }

 private:
  bool success() const { return status_ >= 200 && status_ <= 299; }
  std::string_view key() const { return call_.key; }

  [[noreturn]] void fail(llmrt_status status, const std::string& message) const {
    provider::throw_error(status, message, key());
  }

  [[noreturn]] void http_error() const {
    provider::throw_http_error(status_, url_, body_, model_.upstream_model, key());
  }

  // {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
  [[noreturn]] void provider_error(const json::object& object, std::string_view where) const {
    const json::object* error = object_at(&object, "error");
    const std::string_view type = string_at(error, "type");
    const std::string message = scrub(std::string(string_at(error, "message")), key());
    fail(type == "overloaded_error" || type == "rate_limit_error" || type == "api_error"
             ? LLMRT_UNAVAILABLE
             : LLMRT_FAILED,
         std::string(where) + " from " + url_ + " reported an error" +
             (type.empty() ? std::string() : " (" + std::string(type) + ")") + ": " + message);
  }

  bool write(std::string_view text) {
    if (text.empty()) return true;
    delivered_ = true;
    if (!out_.write(text)) {
      cancelled_ = true;
      return false;
    }
    return true;
  }

  // usage objects: message_start's message.usage (input_tokens, cache_*, output_tokens so far),
  // then message_delta's usage (the cumulative output_tokens).
  void note_usage(const json::object* usage) {
    if (usage == nullptr) return;
    for (const auto& [name, value] : *usage) {
      usage_[name] = value;
      if (!value.is_int64() || value.as_int64() < 0) continue;
      if (name == "input_tokens") input_tokens_ = value.as_int64();
      if (name == "output_tokens") output_tokens_ = value.as_int64();
    }
  }

  bool on_event(provider::SseEvent& event) {
    boost::system::error_code ec;
    const json::value parsed = json::parse(event.data, ec);
    if (ec || !parsed.is_object()) {
      fail(LLMRT_FAILED, "the stream from " + url_ + " sent an event that is not a JSON object: " +
                             scrub(event.data.substr(0, 200), key()));
    }
    const json::object& object = parsed.as_object();
    // The "event:" name and the data's "type" agree; the data is what the SDKs read.
    std::string_view type = string_at(&object, "type");
    if (type.empty()) type = event.type;
    if (type == "message_start") {
      note_usage(object_at(object_at(&object, "message"), "usage"));
    } else if (type == "content_block_delta") {
      const json::object* delta = object_at(&object, "delta");
      if (string_at(delta, "type") == "text_delta" && !write(string_at(delta, "text"))) {
        return false;
      }
    } else if (type == "message_delta") {
      note_usage(object_at(&object, "usage"));
    } else if (type == "message_stop") {
      stopped_ = true;
      return false;  // nothing after it counts
    } else if (type == "error") {
      provider_error(object, "the stream");
    }
    // ping, content_block_start, content_block_stop, and event types added later: nothing to do.
    return true;
  }

  void write_whole_message() {
    boost::system::error_code ec;
    const json::value parsed = json::parse(body_, ec);
    if (ec || !parsed.is_object()) {
      fail(LLMRT_FAILED, "the response from " + url_ + " is not valid JSON: " +
                             scrub(provider::provider_message(body_.substr(0, 200)), key()));
    }
    const json::object& object = parsed.as_object();
    if (string_at(&object, "type") == "error") provider_error(object, "the response");
    const json::value* content = object.if_contains("content");
    if (content == nullptr || !content->is_array()) {
      fail(LLMRT_FAILED, "the response from " + url_ + " has no content array");
    }
    note_usage(object_at(&object, "usage"));
    for (const json::value& block : content->as_array()) {
      if (!block.is_object() || string_at(&block.as_object(), "type") != "text") continue;
      if (!write(string_at(&block.as_object(), "text"))) return;
    }
  }

  const ModelConfig& model_;
  const MessagesCall& call_;
  const provider::HttpRequest& request_;
  sdk::Output& out_;
  const std::string url_;
  int status_ = 0;
  bool sse_ = false;
  bool stopped_ = false;  // message_stop arrived
  bool cancelled_ = false;
  bool delivered_ = false;
  std::string body_;
  provider::SseParser parser_;
  std::exception_ptr failure_;
  std::int64_t input_tokens_ = -1;
  std::int64_t output_tokens_ = -1;
  json::object usage_;
};

}  // namespace

void send_messages(const ModelConfig& model, const MessagesCall& call, sdk::Output& out) {
  if (out.stop_requested()) return;

  provider::HttpRequest request = provider::model_request(model, "/v1/messages", call);
  request.headers.emplace("content-type", "application/json");
  request.headers.emplace("accept", call.stream ? "text/event-stream" : "application/json");
  request.headers.emplace("anthropic-version", std::string(kApiVersion));
  request.headers.emplace("User-Agent", "llmrt-anthropic/1.0");
  request.secret_headers.push_back("x-api-key");
  if (!call.key.empty()) {
    // Built in place: the one copy of the key made here, wiped by perform() after the call.
    auto header = request.headers.emplace("x-api-key", std::string());
    header->second.assign(call.key);
  }
  provider::perform(
      request, [&] { return std::make_unique<MessagesReader>(model, call, request, out); }, out);
}

}  // namespace llmrt::anthropic
