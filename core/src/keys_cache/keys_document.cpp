#include "keys_cache/keys_document.hpp"

#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include "key_versions/versioned_entry.hpp"
#include "keys_cache/keys_cache_counters.hpp"
#include "safe_file.hpp"

namespace llmrt {
namespace {

namespace json = boost::json;

constexpr std::string_view kNoteName = "// Note";
constexpr std::string_view kNoteText = "This file stores secret API keys. Do not share it!";

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::keys_file,
              "keys file " + quoted_path(path) + " " + why + "; it was left unchanged");
}

// A keys file holds secrets: mode 0600, owned by the caller, a regular file, at most 1 MiB.
FileRules keys_file_rules() {
  return {"keys file", ErrorCode::keys_file, true, kMaxKeysFileSize};
}

std::unique_ptr<json::memory_resource> memory_for(KeysDocument::Memory memory,
                                                  LockedResource* pages, std::size_t size_hint) {
  if (memory == KeysDocument::Memory::wiped) return std::make_unique<CleansingResource>();
  // Parsed JSON takes a few times the text's size; the parser's own stack comes from here too.
  // What does not fit is asked of `pages` again, in larger blocks, all locked and wiped.
  return std::make_unique<json::monotonic_resource>(4 * size_hint + 4096, json::storage_ptr(pages));
}

}  // namespace

KeysDocument::KeysDocument(Memory memory, std::size_t size_hint)
    : locked_pages_(memory == Memory::locked ? std::make_unique<LockedResource>() : nullptr),
      memory_(memory_for(memory, locked_pages_.get(), size_hint)),
      root_(json::storage_ptr(memory_.get())) {}

void KeysDocument::parse(const std::filesystem::path& path, std::string_view text) {
  unsigned char scratch[4096];
  boost::system::error_code ec;
  {
    // The parser keeps partial values on `scratch`: it must be gone (and have freed them
    // through the wiping resource) before the scratch bytes are wiped.
    json::parser parser(json::storage_ptr(memory_.get()), {}, scratch, sizeof scratch);
    parser.reset(json::storage_ptr(memory_.get()));
    parser.write(text.data(), text.size(), ec);
    if (!ec) root_ = parser.release();
  }
  cleanse(scratch, sizeof scratch);
  if (ec) refuse(path, "is not valid JSON (" + ec.message() + ")");
  if (!root_.is_object()) refuse(path, "is not a JSON object of names to keys");
  for (const auto& entry : root_.as_object()) {
    const std::string name(entry.key());
    if (is_keys_comment(name)) {
      if (!entry.value().is_string())
        refuse(path, "has a value for 'comment' that is not a string");
      continue;
    }
    const std::string problem = key_versions::problem_with(entry.value());
    if (!problem.empty()) refuse(path, "has a value for '" + name + "' that " + problem);
  }
}

void KeysDocument::start_empty() {
  root_ = json::object(json::storage_ptr(memory_.get()));
  root_.as_object()[kNoteName] = kNoteText;
}

void check_keys_directory(const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    check_private_directory(path.parent_path(), "the directory of keys file", ErrorCode::keys_file);
  }
}

std::unique_ptr<KeysDocument> load_keys_document(const std::filesystem::path& path,
                                                 KeysDocument::Memory memory) {
  keys_cache_counters().file_reads.fetch_add(1, std::memory_order_relaxed);
  check_keys_directory(path);
  std::optional<SafeFile> file = SafeFile::open(path, keys_file_rules());
  if (!file) return nullptr;
  const SecretString text = file->read();
  auto document = std::make_unique<KeysDocument>(memory, text.size());
  keys_cache_counters().parses.fetch_add(1, std::memory_order_relaxed);
  document->parse(path, std::string_view(text.data(), text.size()));
  return document;
}

}  // namespace llmrt
