// keys.json: read on demand, parsed in wiped memory, written atomically, never reset when corrupt.
#include <fcntl.h>
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

namespace llmrt {
namespace {

namespace json = boost::json;

constexpr std::string_view kNoteName = "// Note";
constexpr std::string_view kNoteText = "This file stores secret API keys. Do not share it!";

bool is_comment(std::string_view name) {
  return name.starts_with("//");
}

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

std::string mode_string(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw Error(ErrorCode::keys_file,
              "keys file " + quoted(path) + " " + why + "; it was left unchanged");
}

// Checks what llmrt demands of a keys file before trusting its contents.
void check_file_status(const std::filesystem::path& path, const struct stat& status) {
  if (S_ISLNK(status.st_mode)) refuse(path, "is a symbolic link, which llmrt does not follow");
  if (!S_ISREG(status.st_mode)) refuse(path, "is not a regular file");
  if ((status.st_mode & 077) != 0) {
    throw Error(ErrorCode::keys_file, "permissions " + mode_string(status.st_mode) + " for " +
                                          quoted(path) +
                                          " are too open: it must not be accessible by group or "
                                          "others; run: chmod 600 " +
                                          quoted(path));
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
  struct stat link_status {};
  if (::lstat(path.c_str(), &link_status) != 0) {
    if (errno == ENOENT) return false;
    throw Error(ErrorCode::keys_file,
                "cannot read keys file " + quoted(path) + ": " + std::strerror(errno));
  }
  check_file_status(path, link_status);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::keys_file,
                "cannot open keys file " + quoted(path) + ": " + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    ::close(fd);
    throw Error(ErrorCode::keys_file, "cannot stat keys file " + quoted(path));
  }
  try {
    check_file_status(path, status);  // the file opened may not be the one checked by lstat
  } catch (...) {
    ::close(fd);
    throw;
  }
  SecretString text = make_secret_string(static_cast<std::size_t>(status.st_size) + 1);
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      cleanse(chunk, sizeof chunk);
      ::close(fd);
      throw Error(ErrorCode::keys_file,
                  "cannot read keys file " + quoted(path) + ": " + std::strerror(errno));
    }
    if (got == 0) break;
    text.append(chunk, static_cast<std::size_t>(got));
  }
  cleanse(chunk, sizeof chunk);
  ::close(fd);
  document.parse(path, std::string_view(text.data(), text.size()));
  return true;
}

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
  KeysDocument document;
  if (!load(path_, document)) document.start_empty();
  document.object()[name] = json::string(key.reveal(), document.object().storage());
  store(path_, document);
}

bool KeysFile::remove(std::string_view name) const {
  validate_key_name(name);
  KeysDocument document;
  if (!load(path_, document)) return false;
  if (document.object().erase(name) == 0) return false;
  store(path_, document);
  return true;
}

}  // namespace llmrt
