// keys.json: read on demand (or kept by its cache while unchanged), parsed in wiped memory,
// written atomically, never reset when corrupt.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/error.hpp>
#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cleansing_memory.hpp"
#include "key_versions/versioned_entry.hpp"
#include "keys_cache/keys_document.hpp"
#include "keys_cache/keys_file_cache.hpp"
#include "safe_file.hpp"

namespace llmrt {
namespace {

namespace json = boost::json;

std::string quoted(const std::filesystem::path& path) {
  return quoted_path(path);
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

void check_directory(const std::filesystem::path& path) {
  check_keys_directory(path);
}

// Reads the file for one read-modify-write; nullptr when it does not exist.
std::unique_ptr<KeysDocument> load(const std::filesystem::path& path) {
  return load_keys_document(path, KeysDocument::Memory::wiped);
}

// A document for a file that does not exist yet.
std::unique_ptr<KeysDocument> empty_document() {
  auto document = std::make_unique<KeysDocument>(KeysDocument::Memory::wiped);
  document->start_empty();
  return document;
}

// An exclusive lock on "<keys file>.lock" beside the keys file (like git's index.lock), held
// around every read-modify-write so that concurrent `keys set` never lose each other's entries.
// The lock file is never removed: removing it would let two writers lock two different files.
class UpdateLock {
 public:
  explicit UpdateLock(const std::filesystem::path& path) {
    const std::filesystem::path lock_path = path.string() + ".lock";
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      throw Error(ErrorCode::keys_file, "cannot create the lock file " + quoted(lock_path) +
                                            " of keys file " + quoted(path) + ": " +
                                            std::strerror(errno) + "; it was left unchanged");
    }
    struct stat status {};
    if (::fstat(fd_, &status) != 0 || !S_ISREG(status.st_mode) || status.st_uid != ::geteuid()) {
      ::close(fd_);
      throw Error(ErrorCode::keys_file,
                  "the lock file " + quoted(lock_path) +
                      " is not a regular file of the user llmrt runs as; remove it");
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd_);
      throw Error(ErrorCode::keys_file, "cannot lock " + quoted(lock_path) + ": " +
                                            std::strerror(saved) + "; keys file " + quoted(path) +
                                            " was left unchanged");
    }
  }
  ~UpdateLock() { ::close(fd_); }  // closing releases the lock
  UpdateLock(const UpdateLock&) = delete;
  UpdateLock& operator=(const UpdateLock&) = delete;

 private:
  int fd_ = -1;
};

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw std::system_error(errno, std::generic_category());
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

// Writes `value` as JSON through a wiped buffer.
void write_json_value(int fd, const json::value& value) {
  json::serializer serializer;
  serializer.reset(&value);
  char buffer[512];
  while (!serializer.done()) write_all(fd, serializer.read(buffer, sizeof buffer));
  cleanse(buffer, sizeof buffer);
}

// Writes `value` as a JSON string through a wiped buffer.
void write_json_string(int fd, const json::string& value) {
  json::serializer serializer;
  serializer.reset(&value);
  char buffer[512];
  while (!serializer.done()) write_all(fd, serializer.read(buffer, sizeof buffer));
  cleanse(buffer, sizeof buffer);
}

// Replaces the file atomically: a private temp file in the same directory, fsync, rename.
void store(const std::filesystem::path& path, KeysDocument& document) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  make_private_directories(dir, ErrorCode::keys_file);
  std::string temp = (dir / ".keys.json.XXXXXX").string();
  const int fd = ::mkstemp(temp.data());  // mode 0600
  if (fd < 0) {
    throw Error(ErrorCode::keys_file,
                "cannot write keys file " + quoted(path) + ": " + std::strerror(errno));
  }
  try {
    ::fchmod(fd, 0600);
    write_all(fd, "{\n");
    bool first = true;
    for (const auto& entry : document.object()) {
      write_all(fd, first ? "  " : ",\n  ");
      first = false;
      write_json_string(fd, json::string(entry.key()));
      write_all(fd, ": ");
      write_json_value(fd, entry.value());
    }
    write_all(fd, "\n}\n");
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category());
    ::close(fd);
  } catch (const std::system_error& error) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error(ErrorCode::keys_file,
                "cannot write keys file " + quoted(path) + ": " + error.code().message());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw Error(ErrorCode::keys_file,
                "cannot replace keys file " + quoted(path) + ": " + std::strerror(saved));
  }
  note_keys_file_written();  // every cache of this process reads it again on its next call
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // make the rename itself durable
    ::close(dir_fd);
  }
}

// One read-modify-write of the file under its lock. `change` edits the document and returns
// whether anything changed (only then is the file rewritten).
template <typename Change>
bool update(const std::filesystem::path& path, bool create, Change&& change) {
  if (create) make_private_directories(directory_of(path), ErrorCode::keys_file);
  std::error_code ignored;
  if (!create && !std::filesystem::exists(std::filesystem::symlink_status(path, ignored))) {
    return change(nullptr);
  }
  check_directory(path);
  const UpdateLock lock(path);
  std::unique_ptr<KeysDocument> document = load(path);
  if (!document) {
    if (!create) return change(nullptr);
    document = empty_document();
  }
  if (!change(document.get())) return false;
  store(path, *document);
  return true;
}

Error no_version(const std::filesystem::path& path, std::string_view name, std::string_view label) {
  return Error(ErrorCode::keys_file, "no version '" + std::string(label) + "' of key '" +
                                         std::string(name) + "' in " + quoted(path) +
                                         " (see: llmrt keys versions " + std::string(name) + ")");
}

}  // namespace

void validate_key_name(std::string_view name) {
  const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (name.empty() || name.size() > 128 || !valid_chars) {
    throw Error(ErrorCode::usage, "invalid key name " + quoted_key_name(name.substr(0, 128)) +
                                      ": use 1 to 128 of the characters A-Z a-z 0-9 . _ -");
  }
}

KeysFile::KeysFile(std::filesystem::path path, const KeysFileCaching& caching)
    : path_(std::move(path)),
      cache_(caching.enabled ? std::make_shared<KeysFileCache>(path_, caching) : nullptr) {}

std::shared_ptr<const KeysDocument> KeysFile::document() const {
  if (cache_) return cache_->current();
  return load(path_);
}

void KeysFile::catch_up() const {
  if (cache_) cache_->catch_up();
}

bool KeysFile::watched_by_inotify() const {
  return cache_ && cache_->watching();
}

std::optional<Key> KeysFile::get(std::string_view name) const {
  const std::shared_ptr<const KeysDocument> document = this->document();
  if (!document) return std::nullopt;
  const json::value* value = document->object().if_contains(name);
  if (value == nullptr || is_keys_comment(name)) return std::nullopt;
  if (const json::array* versions = key_versions::versions_of(*value)) {
    for (const json::value& version : *versions) {
      const json::object& fields = version.as_object();
      if (fields.at("label").as_string() == key_versions::kCurrent) {
        const json::string& stored = fields.at("key").as_string();
        return Key(std::string_view(stored.data(), stored.size()));
      }
    }
  }
  const json::string& stored = value->as_string();
  return Key(std::string_view(stored.data(), stored.size()));
}

std::vector<StoredKeyVersion> KeysFile::versions(std::string_view name) const {
  const std::shared_ptr<const KeysDocument> document = this->document();
  std::vector<StoredKeyVersion> result;
  if (!document) return result;
  const json::value* value = document->object().if_contains(name);
  if (value == nullptr || is_keys_comment(name)) return result;
  const json::array* versions = key_versions::versions_of(*value);
  if (versions == nullptr) {
    const json::string& stored = value->as_string();
    result.push_back({std::string(key_versions::kCurrent), std::nullopt, "",
                      Key(std::string_view(stored.data(), stored.size()))});
    return result;
  }
  for (const json::value& version : *versions) {
    const json::object& fields = version.as_object();
    StoredKeyVersion item;
    item.label = fields.at("label").as_string();
    if (const json::value* weight = fields.if_contains("weight")) {
      item.weight = static_cast<std::uint32_t>(weight->as_int64());
    }
    if (const json::value* added = fields.if_contains("added")) item.added = added->as_string();
    const json::string& stored = fields.at("key").as_string();
    item.key = Key(std::string_view(stored.data(), stored.size()));
    result.push_back(std::move(item));
  }
  return result;
}

std::vector<std::string> KeysFile::names() const {
  const std::shared_ptr<const KeysDocument> document = this->document();
  std::vector<std::string> names;
  if (!document) return names;
  for (const auto& entry : document->object()) {
    if (!is_keys_comment(entry.key())) names.emplace_back(entry.key());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void KeysFile::set(std::string_view name, const Key& key) const {
  validate_key_name(name);
  validate_key(key.reveal(), "the key to store as '" + std::string(name) + "'");
  make_private_directories(directory_of(path_), ErrorCode::keys_file);
  check_directory(path_);
  const UpdateLock lock(path_);
  std::unique_ptr<KeysDocument> loaded = load(path_);
  if (!loaded) loaded = empty_document();
  KeysDocument& document = *loaded;
  json::value* entry = document.object().if_contains(name);
  if (entry != nullptr && entry->is_object()) {
    // A name with versions keeps them: the plain `keys set` replaces the current version's key.
    json::object* current =
        key_versions::find_version(entry->as_object().at("versions").as_array(), "current");
    (*current)["key"] = json::string(key.reveal(), document.object().storage());
    (*current)["added"] = key_versions::now_utc();
  } else {
    document.object()[name] = json::string(key.reveal(), document.object().storage());
  }
  store(path_, document);
}

bool KeysFile::remove(std::string_view name) const {
  validate_key_name(name);
  std::error_code ignored;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path_, ignored))) return false;
  check_directory(path_);
  const UpdateLock lock(path_);
  std::unique_ptr<KeysDocument> document = load(path_);
  if (!document) return false;
  if (document->object().erase(name) == 0) return false;
  store(path_, *document);
  return true;
}

}  // namespace llmrt

namespace llmrt {

void KeysFile::set_version(std::string_view name, std::string_view label, const Key& key,
                           std::optional<std::uint32_t> weight) const {
  validate_key_name(name);
  key_versions::validate_label(label);
  if (weight) key_versions::checked_weight(*weight);
  validate_key(key.reveal(), "the key to store as version '" + std::string(label) + "' of '" +
                                 std::string(name) + "'");
  update(path_, true, [&](KeysDocument* document) {
    json::object& root = document->object();
    json::value* entry = root.if_contains(name);
    const json::storage_ptr storage = root.storage();
    if (entry == nullptr) {
      if (label != key_versions::kCurrent) {
        throw Error(ErrorCode::usage, "key '" + std::string(name) +
                                          "' has no current version yet: store one first with "
                                          "`llmrt keys set " +
                                          std::string(name) + "`");
      }
      entry = &(root[name] = json::value(json::array(storage)));
      json::object wrapper(storage);
      wrapper["versions"] = json::array(storage);
      *entry = std::move(wrapper);
    }
    json::array& versions = key_versions::make_versioned(*entry);
    json::object* version = key_versions::find_version(versions, label);
    if (version == nullptr) {
      if (versions.size() >= key_versions::kMaxVersions) {
        throw Error(ErrorCode::usage, "key '" + std::string(name) + "' already has " +
                                          std::to_string(key_versions::kMaxVersions) +
                                          " versions; remove one first");
      }
      json::object fresh(storage);
      fresh["label"] = label;
      versions.push_back(std::move(fresh));
      version = &versions.back().as_object();
    }
    (*version)["key"] = json::string(key.reveal(), storage);
    if (weight) (*version)["weight"] = static_cast<std::int64_t>(*weight);
    (*version)["added"] = key_versions::now_utc();
    return true;
  });
}

void KeysFile::promote(std::string_view name, std::string_view label) const {
  validate_key_name(name);
  key_versions::validate_label(label);
  update(path_, false, [&](KeysDocument* document) -> bool {
    json::value* entry = document ? document->object().if_contains(name) : nullptr;
    if (entry == nullptr || is_keys_comment(name)) throw no_version(path_, name, label);
    if (label == key_versions::kCurrent) {
      if (entry->is_string() ||
          key_versions::find_version(entry->as_object().at("versions").as_array(), label))
        return false;
    }
    if (entry->is_string()) throw no_version(path_, name, label);
    json::array& versions = entry->as_object().at("versions").as_array();
    if (key_versions::find_version(versions, label) == nullptr)
      throw no_version(path_, name, label);
    // The old previous goes; the old current becomes previous; `label` becomes current.
    versions.erase(std::remove_if(versions.begin(), versions.end(),
                                  [](const json::value& item) {
                                    return item.as_object().at("label").as_string() ==
                                           key_versions::kPrevious;
                                  }),
                   versions.end());
    for (json::value& item : versions) {
      json::object& fields = item.as_object();
      if (fields.at("label").as_string() == key_versions::kCurrent) {
        fields["label"] = key_versions::kPrevious;
        fields.erase("weight");
      }
    }
    // Looked up again: the erase above moved the array's elements.
    json::object* promoted = key_versions::find_version(versions, label);
    if (promoted == nullptr) throw no_version(path_, name, label);  // it was "previous"
    (*promoted)["label"] = key_versions::kCurrent;
    promoted->erase("weight");
    return true;
  });
}

void KeysFile::set_weight(std::string_view name, std::string_view label,
                          std::uint32_t weight) const {
  validate_key_name(name);
  key_versions::validate_label(label);
  key_versions::checked_weight(weight);
  update(path_, false, [&](KeysDocument* document) {
    json::value* entry = document ? document->object().if_contains(name) : nullptr;
    if (entry == nullptr || is_keys_comment(name)) throw no_version(path_, name, label);
    if (entry->is_string() && label != key_versions::kCurrent) throw no_version(path_, name, label);
    json::array& versions = key_versions::make_versioned(*entry);
    json::object* version = key_versions::find_version(versions, label);
    if (version == nullptr) throw no_version(path_, name, label);
    (*version)["weight"] = static_cast<std::int64_t>(weight);
    return true;
  });
}

bool KeysFile::remove_version(std::string_view name, std::string_view label) const {
  validate_key_name(name);
  key_versions::validate_label(label);
  return update(path_, false, [&](KeysDocument* document) {
    json::value* entry = document ? document->object().if_contains(name) : nullptr;
    if (entry == nullptr || is_keys_comment(name)) return false;
    const std::size_t count =
        entry->is_string() ? 1 : entry->as_object().at("versions").as_array().size();
    if (entry->is_string()) {
      if (label != key_versions::kCurrent) return false;
    } else {
      json::array& versions = entry->as_object().at("versions").as_array();
      json::object* version = key_versions::find_version(versions, label);
      if (version == nullptr) return false;
      if (label == key_versions::kCurrent && count > 1) {
        throw Error(ErrorCode::usage, "the current version of key '" + std::string(name) +
                                          "' cannot be removed while other versions remain: "
                                          "promote another first (llmrt keys promote " +
                                          std::string(name) + " LABEL)");
      }
      if (count > 1) {
        versions.erase(std::remove_if(versions.begin(), versions.end(),
                                      [&](const json::value& item) {
                                        return item.as_object().at("label").as_string() == label;
                                      }),
                       versions.end());
        return true;
      }
    }
    document->object().erase(name);
    return true;
  });
}

}  // namespace llmrt
