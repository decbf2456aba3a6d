// Errors thrown by the llmrt runtime. Every message is one line, names what went wrong and how to
// fix it, and never contains a key (at most a fingerprint).
#ifndef LLMRT_ERROR_HPP
#define LLMRT_ERROR_HPP

#include <stdexcept>
#include <string>
#include <string_view>

namespace llmrt {

enum class ErrorCode {
  usage,            // the caller asked for something contradictory or malformed
  model_not_found,  // no loaded plugin offers that model id
  key_missing,      // the model needs a key and none was found anywhere
  key_invalid,      // a key was found but is not acceptable (empty, too long, bad characters)
  key_rejected,     // the provider refused the key (LLMRT_KEY_REJECTED)
  keys_file,        // the keys file is insecure, corrupt, or could not be written
  plugin_load,      // a plugin file could not be loaded
  plugin_failed,    // the plugin reported a failure for this call
  bad_request,      // the prompt or its options were refused (by llmrt or the plugin)
  unavailable,      // the provider could not be reached or is overloaded
  busy,             // the runtime's async queue is full; try again later
  io,               // a file of the user directory could not be read or written
  // A configured credential source is broken: credentials.json, a file named by an environment
  // variable, a credential command. The message names it.
  credential_source,
  // Plugin isolation (docs/isolation.md): the plugin's worker process died, hung up or broke the
  // protocol during the call (the worker is replaced).
  plugin_crashed,
  // The plugin crashed too often and is quarantined for a while; retry later.
  plugin_unavailable,
  // The call passed its time limit (--call-timeout).
  timeout,
  // The call's output passed its size limit (--max-output-bytes).
  output_too_large,
};

// The name of a code, eg: "key_missing". For logs and JSON output.
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace llmrt

#endif  // LLMRT_ERROR_HPP
