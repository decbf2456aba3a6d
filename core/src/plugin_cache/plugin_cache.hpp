// The plugin metadata cache: what each plugin file described (or why it was refused) the last time
// it was loaded, keyed by the file's identity, so that listing models needs no plugin code at all.
// Like fontconfig's cache or ld.so.cache: one file, $XDG_CACHE_HOME/llmrt/plugins-v1.json (else
// ~/.cache/llmrt/plugins-v1.json), mode 0600, replaced atomically (a temporary file renamed over
// it). docs/embedding.md#the-plugin-metadata-cache describes it.
//
// Trust: the cache only ever saves work. A cache file that is not a regular file owned by the user,
// is writable by group or others, sits in a directory others may write to, is corrupt, or was
// written by another llmrt or format version is ignored (and rebuilt on save); an entry counts only
// while the file's identity (device, inode, size, mtime in ns) is unchanged; and a plugin listed
// from the cache is still loaded by the normal rules (symbol table, then dlopen) when first used.
//
// Threading: every member may be called from any thread (one mutex). Errors: reading never throws
// (a cache that cannot be used is empty); save() returns what went wrong instead of throwing.
#ifndef LLMRT_PLUGIN_CACHE_PLUGIN_CACHE_HPP
#define LLMRT_PLUGIN_CACHE_PLUGIN_CACHE_HPP

#include <llmrt/runtime.hpp>

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "isolation/description.hpp"

namespace llmrt::plugin_cache {

// What identifies one version of a plugin file: one stat() gives it.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// stat() of `path` (following links, as dlopen does); nullopt when it cannot be examined.
std::optional<FileIdentity> identify(const std::filesystem::path& path);

// What the cache knows of one plugin file: what it described when it loaded, or why it was refused.
struct Entry {
  FileIdentity identity;
  std::optional<isolation::PluginDescription> description;  // set when it loaded
  std::optional<LoadError> error;                           // set when it was refused
};

// The cache file as RuntimeConfig documents it: $XDG_CACHE_HOME/llmrt/plugins-v1.json, else
// $HOME/.cache/llmrt/plugins-v1.json; nullopt when neither variable is set (no cache then).
std::optional<std::filesystem::path> default_cache_file(const EnvironmentLookup& environment);

class PluginCache {
 public:
  // Reads `file` now. A missing file is an empty cache; so is one that cannot be trusted or used,
  // and ignored_because() then says why (eg: "permissions 0666 ... are too open ...").
  explicit PluginCache(std::filesystem::path file);

  const std::filesystem::path& file() const { return file_; }
  const std::string& ignored_because() const { return ignored_because_; }

  // The entry for `canonical_path` if it was recorded for the same file identity and the same user
  // directory (plugins are told it, and may describe themselves by it); nullopt otherwise.
  std::optional<Entry> find(const std::string& canonical_path, const FileIdentity& identity,
                            const std::string& user_dir) const;
  // Records (or replaces) the entry of `canonical_path`.
  void put(const std::string& canonical_path, const std::string& user_dir, const Entry& entry);

  // Forgets every entry (`llmrt plugins --refresh`): each file is inspected again.
  void forget_all();

  // Writes the cache if put() changed it since it was read or last saved: entries of files that no
  // longer exist are dropped, the directories are created 0700, the file written 0600 under a
  // temporary name and renamed over the old one. Returns an error message, or "" when it worked.
  std::string save();

 private:
  struct Contents {
    std::optional<boost::json::object> plugins;
    std::string ignored_because;
  };
  static Contents read(const std::filesystem::path& file);
  PluginCache(std::filesystem::path file, Contents contents);

  const std::filesystem::path file_;
  mutable std::mutex mutex_;
  boost::json::object plugins_;  // canonical path -> entry, as stored
  bool changed_ = false;
  std::string ignored_because_;
};

}  // namespace llmrt::plugin_cache

#endif  // LLMRT_PLUGIN_CACHE_PLUGIN_CACHE_HPP
