// echo: the bundled offline model. Replies with the prompt text exactly, streamed word by word.
// When a key reached it, it adds one final line `key-sha256: <12 hex digits>` so callers and tests
// can see *which* key arrived without the key ever being printed.
// It reads conversations (ABI 2.2): when a call carries a system prompt or earlier turns, the reply
// starts with `[system: <system prompt>]` and/or `[history: <N> turns]` lines, so callers and tests
// can see what reached it. It reports usage in words: words read (system, earlier turns, prompt)
// and words written.
// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but shipped by every 3.x, and need no
// provider set up: the first EVP digest of a process loads openssl.cnf and the default provider
// (~0.5-1 ms, a sixth of a whole `llmrt prompt -m echo`). OpenSSL 4 builds use EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <llmrt/sdk.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

namespace {

constexpr const char* kOptionsSchema = R"json({
  "type": "object",
  "properties": {
    "delay_ms": {"type": "integer", "minimum": 0, "maximum": 10000,
                 "description": "pause after each word, to watch streaming and cancellation"},
    "fail": {"type": "string", "description": "fail the call with this message (for testing)"}
  },
  "additionalProperties": false
})json";

struct EchoOptions {
  int delay_ms = 0;
  std::string fail;
};

EchoOptions parse_options(std::string_view json) {
  EchoOptions options;
  if (json.empty()) return options;
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(json, ec);
  if (ec || !parsed.is_object())
    throw llmrt::sdk::Error(LLMRT_BAD_REQUEST, "options must be a JSON object");
  const auto& object = parsed.as_object();
  if (const auto* delay = object.if_contains("delay_ms"); delay && delay->is_int64()) {
    options.delay_ms = static_cast<int>(delay->as_int64());
  }
  if (const auto* fail = object.if_contains("fail"); fail && fail->is_string()) {
    options.fail = std::string(fail->as_string());
  }
  return options;
}

std::string key_fingerprint(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
#if OPENSSL_VERSION_MAJOR < 4
  SHA256_CTX context;
  const bool digested = SHA256_Init(&context) == 1 &&
                        SHA256_Update(&context, key.data(), key.size()) == 1 &&
                        SHA256_Final(digest, &context) == 1;
  OPENSSL_cleanse(&context, sizeof context);  // it held the key's bytes
  if (!digested) throw llmrt::sdk::Error("SHA-256 is unavailable");
#else
  // Fetched once: OpenSSL 3 looks the algorithm up again on every one-shot SHA256() call.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned int length = 0;
  if (sha256 == nullptr ||
      EVP_Digest(key.data(), key.size(), digest, &length, sha256, nullptr) != 1) {
    throw llmrt::sdk::Error("SHA-256 is unavailable");
  }
#endif
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(12, '0');
  for (int i = 0; i < 6; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0x0F];
  }
  return hex;
}

std::int64_t count_words(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

// Counts the words of everything written through it, for the usage report.
struct CountingOutput {
  llmrt::sdk::Output& out;
  std::string written;
  bool write(std::string_view chunk) {
    written.append(chunk);
    return out.write(chunk);
  }
  bool stop_requested() { return out.stop_requested(); }
};

// Writes `text` one word (with the spaces after it) at a time, pausing if asked.
void stream_words(std::string_view text, const EchoOptions& options, CountingOutput& out) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of(" \t\n", start);
    end = (end == std::string_view::npos) ? text.size() : text.find_first_not_of(" \t\n", end);
    if (end == std::string_view::npos) end = text.size();
    if (!out.write(text.substr(start, end - start))) return;
    start = end;
    if (options.delay_ms > 0) {
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options.delay_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (out.stop_requested()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }
}

struct Echo {
  static constexpr llmrt::sdk::ModelInfo info{
      .id = "echo",
      .display_name = "Echo (offline)",
      .key_name = "echo",
      .key_env_var = "LLMRT_ECHO_KEY",
      .requires_key = false,
      .streaming = true,
      .reentrant = true,
      .deterministic = true,
      .options_schema = kOptionsSchema,
  };

  void execute(const llmrt::sdk::ConversationPrompt& prompt, llmrt::sdk::Output& out) {
    reply(prompt, out, nullptr);
  }

  void execute(const llmrt::sdk::ConversationPrompt& prompt, llmrt::sdk::Output& out,
               const llmrt::sdk::Key& key) {
    reply(prompt, out, &key);
  }

 private:
  static void reply(const llmrt::sdk::ConversationPrompt& prompt, llmrt::sdk::Output& sink,
                    const llmrt::sdk::Key* key) {
    const EchoOptions options = parse_options(prompt.options_json);
    if (!options.fail.empty()) throw llmrt::sdk::Error(options.fail);
    CountingOutput out{sink, {}};
    std::int64_t words_in = count_words(prompt.text) + count_words(prompt.system());
    for (const llmrt::sdk::Message turn : prompt.history()) words_in += count_words(turn.content);
    if (!prompt.system().empty()) {
      if (!out.write("[system: " + std::string(prompt.system()) + "]\n")) return;
    }
    if (!prompt.history().empty()) {
      if (!out.write("[history: " + std::to_string(prompt.history().size()) + " turns]\n")) return;
    }
    stream_words(prompt.text, options, out);
    if (out.stop_requested()) return;
    if (key != nullptr) {
      const bool needs_newline = !prompt.text.empty() && prompt.text.back() != '\n';
      if (!out.write((needs_newline ? "\nkey-sha256: " : "key-sha256: ") +
                     key_fingerprint(key->value()))) {
        return;
      }
    }
    sink.usage(words_in, count_words(out.written));
  }
};

}  // namespace

LLMRT_PLUGIN("echo", "1.0.0", Echo)
