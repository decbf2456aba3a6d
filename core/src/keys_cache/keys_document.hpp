// The parsed contents of a keys file, and the one way to read a keys file under its safety rules.
// Used twice: by KeysFile's read-modify-write (a document that lives for one update, in wiped
// heap memory) and by the keys file cache (a document kept while the file is unchanged, in
// locked, wiped pages).
//
// Threading: a KeysDocument is not synchronised. The cache shares one as `const` between threads,
// which only read it (Boost.JSON's const accessors do not modify anything).
// Errors: Error(keys_file) naming the file, never showing its contents.
#ifndef LLMRT_KEYS_CACHE_KEYS_DOCUMENT_HPP
#define LLMRT_KEYS_CACHE_KEYS_DOCUMENT_HPP

#include <boost/json.hpp>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

#include "cleansing_memory.hpp"

namespace llmrt {

class KeysDocument {
 public:
  enum class Memory {
    wiped,   // heap blocks wiped when freed (CleansingResource)
    locked,  // mlock()ed pages, out of core dumps, wiped when the document goes (LockedResource)
  };

  // `size_hint`: the length of the text to be parsed, to size the locked pages in one go.
  explicit KeysDocument(Memory memory, std::size_t size_hint = 0);
  KeysDocument(const KeysDocument&) = delete;
  KeysDocument& operator=(const KeysDocument&) = delete;

  boost::json::object& object() { return root_.as_object(); }
  const boost::json::object& object() const { return root_.as_object(); }

  // Parses `text` (the file at `path`) and checks that it is an object of names to keys or
  // version lists. Error(keys_file) otherwise.
  void parse(const std::filesystem::path& path, std::string_view text);
  // A new file: only the note that says it holds secrets.
  void start_empty();
  // True when the document lives in pages that could all be locked.
  bool locked() const { return locked_pages_ && locked_pages_->locked(); }

 private:
  // Declared first so that they outlive the values they hold (members go in reverse order).
  std::unique_ptr<LockedResource> locked_pages_;          // only for Memory::locked
  std::unique_ptr<boost::json::memory_resource> memory_;  // where every value lives
  // In `memory_` too, so that the parser's result moves into it rather than being copied.
  boost::json::value root_;
};

// True for the "// Note" kind of entry, which is never a key.
inline bool is_keys_comment(std::string_view name) {
  return name.starts_with("//");
}

// Refuses the directory of a keys file unless it is the caller's and closed to others (whoever can
// write to it can replace the file). Does nothing when it does not exist.
void check_keys_directory(const std::filesystem::path& path);

// Reads and parses the keys file at `path` after checking its directory and the file itself
// (SafeFile: no symbolic link, a regular file of the caller, mode 0600, at most
// kMaxKeysFileSize). nullptr when the file does not exist; Error(keys_file) when it is refused.
std::unique_ptr<KeysDocument> load_keys_document(const std::filesystem::path& path,
                                                 KeysDocument::Memory memory);

}  // namespace llmrt

#endif  // LLMRT_KEYS_CACHE_KEYS_DOCUMENT_HPP
