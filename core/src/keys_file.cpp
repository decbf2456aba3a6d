// keys.json: read on demand, parsed in wiped memory, written atomically, never reset when corrupt.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <llmrt/error.hpp>
#include <llmrt/keys_file.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cleansing_memory.hpp"
#include "safe_file.hpp"

namespace llmrt {
namespace {

namespace json = boost::json;

constexpr std::string_view kNoteName = "// Note";
constexpr std::string_view kNoteText = "This file stores secret API keys. Do not share it!";

bool is_comment(std::string_view name) {
  return name.starts_with("//");
}

std::string quoted(const std::filesystem::path& path) {
  return quoted_path(path);
}

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::keys_file,
              "keys file " + quoted(path) + " " + why + "; it was left unchanged");
}

// A keys file holds secrets: mode 0600, owned by the caller, a regular file, at most 1 MiB.
FileRules keys_file_rules() {
  return {"keys file", ErrorCode::keys_file, true, kMaxKeysFileSize};
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// The directory holding the keys file must be the caller's and closed to others: whoever can
// write to it can replace the file.
void check_directory(const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    check_private_directory(path.parent_path(), "the directory of keys file", ErrorCode::keys_file);
  }
}

// The parsed keys file. The resource is declared first so that it outlives the value it holds.
class KeysDocument {
 public:
  KeysDocument() = default;
  KeysDocument(const KeysDocument&) = delete;
  KeysDocument& operator=(const KeysDocument&) = delete;

  json::object& object() { return root_.as_object(); }
  void parse(const std::filesystem::path& path, std::string_view text) {
    unsigned char scratch[4096];
    boost::system::error_code ec;
    {
      // The parser keeps partial values on `scratch`: it must be gone (and have freed them
      // through the wiping resource) before the scratch bytes are wiped.
      json::parser parser(json::storage_ptr(&resource_), {}, scratch, sizeof scratch);
      parser.reset(json::storage_ptr(&resource_));
      parser.write(text.data(), text.size(), ec);
      if (!ec) root_ = parser.release();
    }
    cleanse(scratch, sizeof scratch);
    if (ec) refuse(path, "is not valid JSON (" + ec.message() + ")");
    if (!root_.is_object()) refuse(path, "is not a JSON object of names to keys");
    for (const auto& entry : root_.as_object()) {
      if (!entry.value().is_string()) {
        const std::string name(entry.key());
        refuse(path, "has a value for '" + (is_comment(name) ? std::string("comment") : name) +
                         "' that is not a string");
      }
    }
  }
  void start_empty() {
    root_ = json::object(json::storage_ptr(&resource_));
    root_.as_object()[kNoteName] = kNoteText;
  }

 private:
  CleansingResource resource_;
  // In the wiping resource too, so that release() moves into it rather than copying elsewhere.
  json::value root_ = json::value(json::storage_ptr(&resource_));
};

// Reads the file into `document`. Returns false when the file does not exist.
bool load(const std::filesystem::path& path, KeysDocument& document) {
  check_directory(path);
  std::optional<SafeFile> file = SafeFile::open(path, keys_file_rules());
  if (!file) return false;
  const SecretString text = file->read();
  document.parse(path, std::string_view(text.data(), text.size()));
  return true;
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

// Writes `value` as a JSON string through a wiped buffer.
void write_json_string(int fd, const json::string& value) {
  json::serializer serializer;
  serializer.reset(&value);
  char buffer[512];
  while (!serializer.done()) write_all(fd, serializer.read(buffer, sizeof buffer));
  cleanse(buffer, sizeof buffer);
}

void ensure_private_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorCode::keys_file,
                "cannot create directory " + quoted(dir) + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
}

// Replaces the file atomically: a private temp file in the same directory, fsync, rename.
void store(const std::filesystem::path& path, KeysDocument& document) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  ensure_private_directory(dir);
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
      write_json_string(fd, entry.value().as_string());
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
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // make the rename itself durable
    ::close(dir_fd);
  }
}

}  // namespace

void validate_key_name(std::string_view name) {
  const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (name.empty() || name.size() > 128 || !valid_chars) {
    throw Error(ErrorCode::usage, "invalid key name '" + std::string(name.substr(0, 128)) +
                                      "': use 1 to 128 of the characters A-Z a-z 0-9 . _ -");
  }
}

std::optional<Key> KeysFile::get(std::string_view name) const {
  KeysDocument document;
  if (!load(path_, document)) return std::nullopt;
  const json::value* value = document.object().if_contains(name);
  if (value == nullptr || is_comment(name)) return std::nullopt;
  const json::string& stored = value->as_string();
  return Key(std::string_view(stored.data(), stored.size()));
}

std::vector<std::string> KeysFile::names() const {
  KeysDocument document;
  std::vector<std::string> names;
  if (!load(path_, document)) return names;
  for (const auto& entry : document.object()) {
    if (!is_comment(entry.key())) names.emplace_back(entry.key());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void KeysFile::set(std::string_view name, const Key& key) const {
  validate_key_name(name);
  validate_key(key.reveal(), "the key to store as '" + std::string(name) + "'");
  ensure_private_directory(directory_of(path_));
  check_directory(path_);
  const UpdateLock lock(path_);
  KeysDocument document;
  if (!load(path_, document)) document.start_empty();
  document.object()[name] = json::string(key.reveal(), document.object().storage());
  store(path_, document);
}

bool KeysFile::remove(std::string_view name) const {
  validate_key_name(name);
  std::error_code ignored;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path_, ignored))) return false;
  check_directory(path_);
  const UpdateLock lock(path_);
  KeysDocument document;
  if (!load(path_, document)) return false;
  if (document.object().erase(name) == 0) return false;
  store(path_, document);
  return true;
}

}  // namespace llmrt
