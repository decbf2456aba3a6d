// Usage errors quote the arguments they are about ("The following argument was not expected: X",
// "--port: Value X not in range"). A key typed in the wrong place (`llmrt keys set openai sk-...`,
// `--key-file sk-...`) would be printed back to the terminal and to whatever records it (a CI
// log, a shared screen). These helpers decide what may be quoted. docs/keys.md ("What is never
// printed") states the rule.
#ifndef LLMRT_CLI_ARGUMENT_REDACTION_HPP
#define LLMRT_CLI_ARGUMENT_REDACTION_HPP

#include <string>
#include <string_view>

namespace llmrt::cli {

// Whether `argument` could be a key: 16 characters or more, none of them whitespace. Provider keys
// are 32 to 200 characters without whitespace; a prompt of several words has spaces.
bool could_be_a_key(std::string_view argument);

// How an error shows `argument`: as itself, or, when it could be a key, "[N characters, not
// shown]".
std::string shown_argument(std::string_view argument);

// How an error shows a key file's path: as itself when it holds a '/' or could not be a key (eg:
// "openai.key"), else as shown_argument() does.
std::string shown_key_file_path(std::string_view path);

// `message` with each of argv[1..argc-1] that could be a key replaced as shown_argument() does;
// for an "--option=value" argument, its value. Longer arguments are replaced first, so that one
// that contains another is never half replaced.
std::string without_possible_keys(std::string message, int argc, const char* const* argv);

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_ARGUMENT_REDACTION_HPP
