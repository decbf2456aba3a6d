// The plugin metadata cache: what each plugin file described (or why it was refused) the last time
// it was loaded, keyed by the file's identity, so that listing models needs no plugin code at all.
// Like fontconfig's cache or ld.so.cache: one file, $XDG_CACHE_HOME/llmrt/plugins-v2.json (else
// ~/.cache/llmrt/plugins-v2.json), mode 0600, replaced atomically (a temporary file renamed over
// it). docs/embedding.md#the-plugin-metadata-cache describes it.
//
// Layout: a first line, the index (each file's identity and model ids, or why it was refused),
// then each plugin's full description at the offset the index gives. Starting a Runtime reads the
// index alone; a description is read when one of its plugin's models is first described. With
// 1000 plugins the index is a third of the file, and parsing it a third of the time.
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
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
// The same for `name` in the directory open as `dir_fd` (fstatat: no walk of the whole path).
std::optional<FileIdentity> identify_at(int dir_fd, const std::string& name);

// What put() records for one plugin file: what it described when it loaded, or why it was refused.
struct Entry {
  FileIdentity identity;
  std::optional<isolation::PluginDescription> description;  // set when it loaded
  std::optional<LoadError> error;                           // set when it was refused
};

// The cache file as RuntimeConfig documents it: $XDG_CACHE_HOME/llmrt/plugins-v2.json, else
// $HOME/.cache/llmrt/plugins-v2.json; nullopt when neither variable is set (no cache then).
std::optional<std::filesystem::path> default_cache_file(const EnvironmentLookup& environment);

// What find() lists for one plugin file from the index alone.
struct Listing {
  std::optional<LoadError> error;      // set when it was refused
  std::vector<std::string> model_ids;  // when it loaded: its models, in the plugin's order
};

class PluginCache {
 public:
  // Reads `file` now. A missing file is an empty cache; so is one that cannot be trusted or used,
  // and ignored_because() then says why (eg: "permissions 0666 ... are too open ...").
  explicit PluginCache(std::filesystem::path file);

  const std::filesystem::path& file() const { return file_; }
  const std::string& ignored_because() const { return ignored_because_; }

  PluginCache(const PluginCache&) = delete;
  PluginCache& operator=(const PluginCache&) = delete;
  ~PluginCache();

  // The entry for `canonical_path` if it was recorded for the same file identity and the same user
  // directory (plugins are told it, and may describe themselves by it); nullopt otherwise.
  std::optional<Listing> find(const std::string& canonical_path, const FileIdentity& identity,
                              const std::string& user_dir) const;
  // The description recorded for `canonical_path`, read from the cache file now (from the version
  // of it this PluginCache read or last saved, even if another process replaced it since).
  // nullopt when there is none or it cannot be read back: the file is then described by loading it.
  std::optional<isolation::PluginDescription> description(const std::string& canonical_path) const;
  // Records (or replaces) the entry of `canonical_path`.
  void put(const std::string& canonical_path, const std::string& user_dir, const Entry& entry);

  // Forgets every entry (`llmrt plugins --refresh`): each file is inspected again.
  void forget_all();

  // Writes the cache if put() changed it since it was read or last saved: entries of files that no
  // longer exist are dropped, the directories are created 0700, the file written 0600 under a
  // temporary name and renamed over the old one. Returns an error message, or "" when it worked.
  std::string save();

 private:
  // Where the descriptions are: an open file (the cache as read, or as last saved) and the offset
  // of its first description.
  struct Details {
    int fd = -1;
    std::uint64_t start = 0;
    std::uint64_t size = 0;
  };
  struct Contents {
    std::optional<boost::json::object> plugins;
    Details details;
    std::string ignored_because;
  };
  static Contents read(const std::filesystem::path& file);
  PluginCache(std::filesystem::path file, Contents contents);
  // The stored description text of an index entry; nullopt when it cannot be read. Under mutex_.
  std::optional<std::string> stored_description(const boost::json::object& entry) const;

  const std::filesystem::path file_;
  mutable std::mutex mutex_;
  boost::json::object plugins_;  // canonical path -> index entry, as stored
  Details details_;
  std::map<std::string, std::string> put_descriptions_;  // canonical path -> description JSON
  bool changed_ = false;
  std::string ignored_because_;
};

}  // namespace llmrt::plugin_cache

#endif  // LLMRT_PLUGIN_CACHE_PLUGIN_CACHE_HPP
