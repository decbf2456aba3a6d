#include "argument_redaction.hpp"

#include <algorithm>
#include <vector>

namespace llmrt::cli {
namespace {

constexpr std::size_t kShortestKey = 16;

bool is_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void replace_all(std::string& text, std::string_view what, const std::string& with) {
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
}

}  // namespace

bool could_be_a_key(std::string_view argument) {
  return argument.size() >= kShortestKey &&
         std::none_of(argument.begin(), argument.end(), is_whitespace);
}

std::string shown_argument(std::string_view argument) {
  if (!could_be_a_key(argument)) return std::string(argument);
  return "[" + std::to_string(argument.size()) + " characters, not shown]";
}

std::string shown_key_file_path(std::string_view path) {
  if (path.find('/') != std::string_view::npos) return std::string(path);
  return shown_argument(path);
}

std::string without_possible_keys(std::string message, int argc, const char* const* argv) {
  std::vector<std::string_view> hidden;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument.starts_with("--")) {
      const std::size_t equals = argument.find('=');
      if (equals == std::string_view::npos) continue;  // an option's name is no secret
      argument.remove_prefix(equals + 1);
    }
    if (could_be_a_key(argument)) hidden.push_back(argument);
  }
  std::sort(hidden.begin(), hidden.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (const std::string_view argument : hidden) {
    replace_all(message, argument, shown_argument(argument));
  }
  return message;
}

}  // namespace llmrt::cli
