// What the fake upstreams (fake_openai_server, fake_anthropic_server) read from a chat request,
// and how they split an answer into streamed words: OpenAI's chat completions and Anthropic's
// messages share these fields and shapes.
#ifndef LLMRT_TEST_FAKE_CHAT_REQUEST_HPP
#define LLMRT_TEST_FAKE_CHAT_REQUEST_HPP

#include <string>
#include <string_view>
#include <vector>

namespace llmrt::test {

struct ChatRequestFields {
  std::string model;         // "model"
  bool stream = false;       // "stream"
  std::string user_message;  // the text of the last message whose role is "user"
};

// The fields of a JSON request body; those missing or of the wrong type stay empty (a body that
// is not a JSON object gives all of them empty). A message's content is a string, or an array of
// parts whose "text" strings are joined.
ChatRequestFields read_chat_request(std::string_view body);

// The words of an answer, each with the spaces after it: "echo: a b" -> {"echo: ", "a ", "b"}.
std::vector<std::string> split_words(const std::string& text);

}  // namespace llmrt::test

#endif  // LLMRT_TEST_FAKE_CHAT_REQUEST_HPP
