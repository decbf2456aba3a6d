#include <llmrt/error.hpp>

namespace llmrt {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::usage:
      return "usage";
    case ErrorCode::model_not_found:
      return "model_not_found";
    case ErrorCode::key_missing:
      return "key_missing";
    case ErrorCode::key_invalid:
      return "key_invalid";
    case ErrorCode::key_rejected:
      return "key_rejected";
    case ErrorCode::keys_file:
      return "keys_file";
    case ErrorCode::plugin_load:
      return "plugin_load";
    case ErrorCode::plugin_failed:
      return "plugin_failed";
    case ErrorCode::bad_request:
      return "bad_request";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::busy:
      return "busy";
    case ErrorCode::io:
      return "io";
    case ErrorCode::credential_source:
      return "credential_source";
    case ErrorCode::plugin_crashed:
      return "plugin_crashed";
    case ErrorCode::plugin_unavailable:
      return "plugin_unavailable";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::output_too_large:
      return "output_too_large";
  }
  return "unknown";
}

}  // namespace llmrt
