// The key flags `llmrt prompt` and `llmrt chat` share (--key, --key-file, --key-name).
#ifndef LLMRT_CLI_PROMPT_KEYS_HPP
#define LLMRT_CLI_PROMPT_KEYS_HPP

#include <llmrt/key.hpp>

#include <optional>

#include "commands.hpp"

namespace llmrt::cli {

// Throws Error(usage) when more than one of --key, --key-file and --key-name was given.
void check_key_flags(const PromptArgs& args);

// The per-call key from --key or --key-file, with every intermediate copy wiped; nullopt for
// neither. Reads the key file once.
std::optional<Key> take_per_call_key(PromptArgs& args);

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_PROMPT_KEYS_HPP
