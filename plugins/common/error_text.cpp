#include "error_text.hpp"

#include <llmrt/sdk.hpp>

#include <boost/json.hpp>

#include "ascii.hpp"

namespace llmrt::provider {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxProviderMessage = 600;

bool is_key_char(char c) {
  return is_ascii_alnum(c) || c == '_' || c == '-';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The key as it appears inside a JSON string ("\/" and friends), without the quotes.
std::string json_escaped(std::string_view key) {
  const std::string quoted = json::serialize(json::string(key));
  return quoted.substr(1, quoted.size() - 2);
}

// Cuts at `limit` bytes without splitting a UTF-8 character.
std::string truncated(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string hint(int status, std::string_view upstream_model) {
  if (status == 401 || status == 403) return "the key was refused";
  if (status == 404) {
    return "check the model name '" + std::string(upstream_model) + "' and the base URL";
  }
  if (status == 429) return "rate limited or out of quota; retry later";
  if (status >= 500) return "the server failed; retry later";
  if (status >= 300 && status < 400) return "redirects are not followed; check the base URL";
  return "";
}

}  // namespace

std::string scrub(std::string_view text, std::string_view key) {
  const std::string escaped_key = key.empty() ? std::string() : json_escaped(key);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    if (!key.empty() && rest.starts_with(key)) {
      out.append(kRedacted);
      i += key.size();
      continue;
    }
    if (!escaped_key.empty() && escaped_key != key && rest.starts_with(escaped_key)) {
      out.append(kRedacted);
      i += escaped_key.size();
      continue;
    }
    const bool word_start = i == 0 || !is_ascii_alnum(text[i - 1]);
    if (word_start && rest.starts_with("sk-") && rest.size() > 3 && is_key_char(rest[3])) {
      out.append(kRedacted);
      i += 3;
      while (i < text.size() && is_key_char(text[i])) ++i;
      continue;
    }
    if (word_start && starts_with_nocase(rest, "bearer") && rest.size() > 6 &&
        (rest[6] == ' ' || rest[6] == '\t')) {
      std::size_t token = 6;
      while (token < rest.size() && (rest[token] == ' ' || rest[token] == '\t')) ++token;
      std::size_t end = token;
      while (end < rest.size() && !is_space(rest[end]) &&
             std::string_view("\"',;\\").find(rest[end]) == std::string_view::npos) {
        ++end;
      }
      if (end > token) {
        out.append("Bearer ");
        out.append(kRedacted);
        i += end;
        continue;
      }
    }
    const char c = text[i++];
    out.push_back((static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c);
  }
  return out;
}

llmrt_status status_for_http(int http_status) {
  if (http_status == 401 || http_status == 403) return LLMRT_KEY_REJECTED;
  if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return LLMRT_UNAVAILABLE;
  }
  if (http_status >= 400 && http_status <= 499) return LLMRT_BAD_REQUEST;
  return LLMRT_FAILED;
}

std::string provider_message(std::string_view body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const json::object& object = parsed.as_object();
    if (const json::value* error = object.if_contains("error")) {
      if (error->is_string()) return std::string(error->as_string());
      if (error->is_object()) {
        if (const json::value* message = error->as_object().if_contains("message");
            message != nullptr && message->is_string()) {
          return std::string(message->as_string());
        }
      }
    }
    for (const char* name : {"message", "detail"}) {
      if (const json::value* message = object.if_contains(name);
          message != nullptr && message->is_string()) {
        return std::string(message->as_string());
      }
    }
  }
  // Not an error object we know: the start of the body, whitespace collapsed.
  std::string text;
  for (const char c : body.substr(0, 4 * kMaxProviderMessage)) {
    if (is_space(c)) {
      if (!text.empty() && text.back() != ' ') text.push_back(' ');
    } else {
      text.push_back(c);
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string http_error_message(int http_status, std::string_view url, std::string_view body,
                               std::string_view upstream_model, std::string_view key) {
  std::string message = "HTTP " + std::to_string(http_status);
  if (const std::string_view reason = reason_phrase(http_status); !reason.empty()) {
    message += " (" + std::string(reason) + ")";
  }
  message += " from " + std::string(url);
  // Scrubbed before it is cut, so that a cut never leaves part of a key unrecognised.
  const std::string said = truncated(scrub(provider_message(body), key), kMaxProviderMessage);
  if (!said.empty()) message += ": " + said;
  if (const std::string why = hint(http_status, upstream_model); !why.empty()) {
    message += " (" + why + ")";
  }
  return scrub(message, key);
}

void throw_http_error(int http_status, std::string_view url, std::string_view body,
                      std::string_view upstream_model, std::string_view key) {
  throw sdk::Error(status_for_http(http_status),
                   http_error_message(http_status, url, body, upstream_model, key));
}

void throw_error(llmrt_status status, std::string_view message, std::string_view key) {
  throw sdk::Error(status, scrub(message, key));
}

}  // namespace llmrt::provider
