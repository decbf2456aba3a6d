// Keys: the secret type and where a key came from.
#ifndef LLMRT_KEY_HPP
#define LLMRT_KEY_HPP

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace llmrt {

// Where the key used for a call came from. Reported on every Response; the key itself never is.
enum class KeySource {
  none,              // no key was sent to the plugin
  per_call,          // PromptOptions::key (CLI --key / --key-file, HTTP Authorization)
  stored_name,       // PromptOptions::key_name: a keys-file entry named explicitly for this call
  instance,          // the model instance's key (create_model settings, or legacy set_key)
  environment,       // the environment variable the model names, eg: OPENAI_API_KEY
  keys_file,         // the model's own entry in keys.json, eg: "openai"
  environment_file,  // a file named by an environment variable (credentials.json
                     // "environment_file")
  command,           // an external credential command (credentials.json "command")
};

// eg: "per-call", "environment". For messages and JSON output.
std::string_view to_string(KeySource source) noexcept;

// A secret API key. Its bytes live in storage of its own that is wiped (OPENSSL_cleanse) when the
// Key is destroyed or overwritten. It can be moved but not copied, and it cannot be printed: there
// is no operator<<, and reading it needs the explicit reveal().
//
// Construction copies the bytes and does not validate them: validation happens when a key is used,
// so that the error can say where the key came from (see validate_key).
//
// Threading: a const Key may be read from several threads; mutation needs exclusive access.
class Key {
 public:
  Key() noexcept = default;
  Key(std::string_view value);  // NOLINT(google-explicit-constructor): {.key = "sk-..."} reads well
  Key(const char* value) : Key(std::string_view(value)) {}  // NOLINT(google-explicit-constructor)
  Key(const std::string& value) : Key(std::string_view(value)) {}  // NOLINT
  Key(Key&& other) noexcept;
  Key& operator=(Key&& other) noexcept;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key();

  // An independent copy, for the rare place that must keep a second one (it is wiped too).
  Key clone() const { return Key(reveal()); }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  // The key's bytes, valid while this Key lives. Hand them only to the plugin call.
  std::string_view reveal() const noexcept { return {data_.get(), size_}; }

  // "sha256:" followed by the first 12 hex digits of SHA-256 of the key: safe to show and log.
  std::string fingerprint() const;

  friend std::ostream& operator<<(std::ostream&, const Key&) = delete;

 private:
  void wipe() noexcept;
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

// The longest key accepted, in bytes.
inline constexpr std::size_t kMaxKeySize = 4096;

// Throws Error(key_invalid) unless `key` is 1..4096 bytes of printable ASCII without spaces.
// `what` names the key for the message, eg: "the key from OPENAI_API_KEY"; the message never
// contains the key itself.
void validate_key(std::string_view key, std::string_view what);

// The same rule without an error: true when `key` is acceptable.
bool is_valid_key(std::string_view key) noexcept;

// The first 12 hex digits of SHA-256 of `bytes`, eg: "3f2a9c01b7de".
std::string sha256_prefix(std::string_view bytes);

// Whether `text` looks like an API key rather than the name of one: 20 or more characters without
// whitespace that mix upper-case letters, lower-case letters and digits, or 32 or more that mix
// letters and digits (provider keys are random text of 32 to 200 characters; names such as
// "acme-openai-2024" are not). A key typed where a key's name goes (`--key-name`, a tenants file)
// must not be printed back: messages show such a name with quoted_key_name().
bool looks_like_a_key(std::string_view text) noexcept;

// `name` as messages show a key's name: 'name' in quotes, or, when it looks like a key,
// "[a name of N characters that looks like a key, not shown]".
std::string quoted_key_name(std::string_view name);

}  // namespace llmrt

#endif  // LLMRT_KEY_HPP
