#include "fake_chat_request.hpp"

#include <boost/json.hpp>

namespace llmrt::test {

namespace json = boost::json;

namespace {

std::string content_text(const json::value& content) {
  if (content.is_string()) return std::string(content.as_string());
  std::string text;
  if (content.is_array()) {
    for (const json::value& part : content.as_array()) {
      if (!part.is_object()) continue;
      const json::value* part_text = part.as_object().if_contains("text");
      if (part_text != nullptr && part_text->is_string()) text += part_text->as_string();
    }
  }
  return text;
}

}  // namespace

ChatRequestFields read_chat_request(std::string_view body) {
  ChatRequestFields fields;
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return fields;
  const json::object& object = parsed.as_object();
  if (const json::value* model = object.if_contains("model"); model && model->is_string()) {
    fields.model = std::string(model->as_string());
  }
  if (const json::value* stream = object.if_contains("stream"); stream && stream->is_bool()) {
    fields.stream = stream->as_bool();
  }
  if (const json::value* messages = object.if_contains("messages");
      messages && messages->is_array()) {
    for (const json::value& message : messages->as_array()) {
      if (!message.is_object()) continue;
      const json::value* role = message.as_object().if_contains("role");
      const json::value* content = message.as_object().if_contains("content");
      if (role && role->is_string() && role->as_string() == "user" && content) {
        fields.user_message = content_text(*content);
      }
    }
  }
  return fields;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    end = end == std::string::npos ? text.size() : text.find_first_not_of(' ', end);
    if (end == std::string::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    start = end;
  }
  return words;
}

}  // namespace llmrt::test
