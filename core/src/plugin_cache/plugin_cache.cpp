#include "plugin_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "safe_file.hpp"

namespace llmrt::plugin_cache {
namespace {

namespace json = boost::json;

constexpr std::string_view kFormat = "llmrt-plugin-cache";
constexpr std::int64_t kFormatVersion = 2;  // the "v2" of plugins-v2.json
// A cache of 1000 plugins is about 0.5 MiB; anything past this is not one of ours.
constexpr std::size_t kMaxCacheSize = std::size_t{64} << 20;

const FileRules& cache_rules() {
  // Not a secret (no group/other *write* is the rule, as for a plugin directory), but what it says
  // decides which files are offered as plugins: only the user may have written it.
  static const FileRules rules{"plugin cache", ErrorCode::io, false, kMaxCacheSize};
  return rules;
}

json::object identity_json(const FileIdentity& identity) {
  return json::object{{"dev", identity.device},
                      {"ino", identity.inode},
                      {"size", identity.size},
                      {"mtime_ns", identity.mtime_ns}};
}

FileIdentity identity_from(const json::object& entry) {
  return {json::value_to<std::uint64_t>(entry.at("dev")),
          json::value_to<std::uint64_t>(entry.at("ino")),
          json::value_to<std::uint64_t>(entry.at("size")),
          json::value_to<std::int64_t>(entry.at("mtime_ns"))};
}

std::optional<LoadErrorKind> kind_from(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(LoadErrorKind::duplicate_model); ++i) {
    if (to_string(static_cast<LoadErrorKind>(i)) == name) return static_cast<LoadErrorKind>(i);
  }
  return std::nullopt;
}

// The first line of the file: the index. Read in blocks, so that the descriptions after it are not.
std::string read_index(int fd, std::uint64_t file_size) {
  std::string index;
  char block[16384];
  while (index.size() < file_size) {
    const ssize_t got = ::pread(fd, block, sizeof block, static_cast<off_t>(index.size()));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("it cannot be read");
    const auto* newline = static_cast<const char*>(std::memchr(block, '\n', std::size_t(got)));
    if (newline != nullptr) return index.append(block, std::size_t(newline - block));
    index.append(block, std::size_t(got));
  }
  throw std::runtime_error("it has no index line");
}

// `length` bytes at `offset`, or nullopt when the file has fewer.
std::optional<std::string> read_at(int fd, std::uint64_t offset, std::uint64_t length) {
  std::string text(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t got = ::pread(fd, text.data() + done, length - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return std::nullopt;
    done += std::size_t(got);
  }
  return text;
}

void write_all(int fd, const std::string& text, const std::filesystem::path& temp) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) {
      throw Error(ErrorCode::io, "cannot write " + quoted_path(temp) + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(wrote);
  }
}

}  // namespace

namespace {

FileIdentity identity_of(const struct stat& status) {
  return FileIdentity{
      static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino),
      static_cast<std::uint64_t>(status.st_size),
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec};
}

}  // namespace

std::optional<FileIdentity> identify(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  return identity_of(status);
}

std::optional<FileIdentity> identify_at(int dir_fd, const std::string& name) {
  struct stat status {};
  if (::fstatat(dir_fd, name.c_str(), &status, 0) != 0) return std::nullopt;
  return identity_of(status);
}

std::optional<std::filesystem::path> default_cache_file(const EnvironmentLookup& environment) {
  const auto non_empty = [&](const char* name) -> const char* {
    const char* value = environment ? environment(name) : std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  if (const char* xdg = non_empty("XDG_CACHE_HOME")) {
    return std::filesystem::path(xdg) / "llmrt" / "plugins-v2.json";
  }
  if (const char* home = non_empty("HOME")) {
    return std::filesystem::path(home) / ".cache" / "llmrt" / "plugins-v2.json";
  }
  return std::nullopt;
}

PluginCache::Contents PluginCache::read(const std::filesystem::path& file) {
  Contents contents;
  try {
    check_private_directory(file.parent_path(), "plugin cache directory", ErrorCode::io);
    std::optional<SafeFile> opened = SafeFile::open(file, cache_rules());
    if (!opened) return contents;
    const auto file_size = static_cast<std::uint64_t>(opened->status().st_size);
    const std::string index = read_index(opened->descriptor(), file_size);
    // One arena for the whole tree: 1000 entries are ~8000 small nodes, freed at once (this is on
    // the start-up path of every command).
    json::value root = json::parse(index, json::make_shared_resource<json::monotonic_resource>());
    json::object& top = root.as_object();
    if (top.at("format").as_string() != kFormat ||
        top.at("version").to_number<std::int64_t>() != kFormatVersion ||
        top.at("llmrt").as_string() != LLMRT_VERSION ||
        json::value_to<std::uint32_t>(top.at("host_abi")) != host_abi_version()) {
      contents.ignored_because = "it was written by another llmrt or in another format";
      return contents;
    }
    const auto details_size = json::value_to<std::uint64_t>(top.at("details_bytes"));
    if (index.size() + 1 + details_size != file_size) {
      throw std::runtime_error("it is cut short or was appended to");
    }
    // Kept open: a description is read from this version of the file, whatever replaces it.
    const int fd = ::fcntl(opened->descriptor(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::strerror(errno));
    contents.details = {fd, index.size() + 1, details_size};
    // Moved within the arena (a move to another arena would copy every node).
    contents.plugins.emplace(std::move(top.at("plugins").as_object()));
  } catch (const std::exception& error) {
    // Untrusted or unreadable: rebuilt from the plugins themselves, and rewritten on save.
    contents.ignored_because = error.what();
    contents.plugins.reset();
  }
  return contents;
}

PluginCache::PluginCache(std::filesystem::path file) : PluginCache(file, read(file)) {}

PluginCache::PluginCache(std::filesystem::path file, Contents contents)
    : file_(std::move(file)),
      plugins_(contents.plugins ? std::move(*contents.plugins) : json::object()),
      details_(contents.plugins ? contents.details : Details{}),
      ignored_because_(std::move(contents.ignored_because)) {
  if (!contents.plugins && contents.details.fd >= 0) ::close(contents.details.fd);
}

PluginCache::~PluginCache() {
  if (details_.fd >= 0) ::close(details_.fd);
}

std::optional<Listing> PluginCache::find(const std::string& canonical_path,
                                         const FileIdentity& identity,
                                         const std::string& user_dir) const {
  std::lock_guard lock(mutex_);
  const json::value* stored = plugins_.if_contains(canonical_path);
  if (stored == nullptr || !stored->is_object()) return std::nullopt;
  try {
    const json::object& entry = stored->as_object();
    if (identity_from(entry) != identity || entry.at("user_dir").as_string() != user_dir) {
      return std::nullopt;
    }
    Listing found;
    if (const json::value* error = entry.if_contains("error")) {
      const json::object& refusal = error->as_object();
      const std::optional<LoadErrorKind> kind = kind_from(refusal.at("kind").as_string());
      if (!kind) return std::nullopt;
      found.error =
          LoadError{canonical_path, *kind, json::value_to<std::string>(refusal.at("message"))};
    } else {
      found.model_ids = json::value_to<std::vector<std::string>>(entry.at("models"));
    }
    return found;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is a miss: the file is inspected again
  }
}

std::optional<std::string> PluginCache::stored_description(const json::object& entry) const {
  const json::value* at = entry.if_contains("description");
  if (at == nullptr || details_.fd < 0) return std::nullopt;
  const auto offset = json::value_to<std::uint64_t>(at->as_array().at(0));
  const auto length = json::value_to<std::uint64_t>(at->as_array().at(1));
  if (offset > details_.size || length > details_.size - offset) return std::nullopt;
  return read_at(details_.fd, details_.start + offset, length);
}

std::optional<isolation::PluginDescription> PluginCache::description(
    const std::string& canonical_path) const {
  std::optional<std::string> text;
  {
    std::lock_guard lock(mutex_);
    try {
      if (const auto put = put_descriptions_.find(canonical_path); put != put_descriptions_.end()) {
        text = put->second;
      } else if (const json::value* stored = plugins_.if_contains(canonical_path)) {
        text = stored_description(stored->as_object());
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!text) return std::nullopt;
  try {
    return isolation::description_from_object(json::parse(*text).as_object());
  } catch (const std::exception&) {
    return std::nullopt;  // damaged: described again by loading the plugin
  }
}

void PluginCache::put(const std::string& canonical_path, const std::string& user_dir,
                      const Entry& entry) {
  json::object stored = identity_json(entry.identity);
  stored["user_dir"] = user_dir;
  if (entry.error) {
    stored["error"] =
        json::object{{"kind", to_string(entry.error->kind)}, {"message", entry.error->message}};
  } else if (entry.description) {
    json::array ids;
    for (const ModelInfo& model : entry.description->models) ids.emplace_back(model.id);
    stored["models"] = std::move(ids);
  }
  std::string description =
      entry.description ? isolation::to_json(*entry.description) : std::string();
  std::lock_guard lock(mutex_);
  plugins_[canonical_path] = std::move(stored);
  if (entry.description) {
    put_descriptions_[canonical_path] = std::move(description);
  } else {
    put_descriptions_.erase(canonical_path);
  }
  changed_ = true;
}

void PluginCache::forget_all() {
  std::lock_guard lock(mutex_);
  plugins_.clear();
  put_descriptions_.clear();
  changed_ = true;
}

std::string PluginCache::save() {
  std::lock_guard lock(mutex_);
  if (!changed_) return {};
  std::filesystem::path temp;
  int fd = -1;
  try {
    // The index and the descriptions after it, each description at the offset its entry gives.
    // Entries of files that are gone, and descriptions that cannot be read back, are dropped (a
    // dropped file is inspected again next time).
    json::object index;
    std::string descriptions;
    for (const auto& [key, value] : plugins_) {
      if (!identify(std::string(key))) continue;
      json::object entry = value.as_object();
      entry.erase("description");
      if (!entry.contains("error")) {
        const auto put = put_descriptions_.find(std::string(key));
        std::optional<std::string> text = put != put_descriptions_.end()
                                              ? std::optional<std::string>(put->second)
                                              : stored_description(value.as_object());
        if (!text) continue;
        entry["description"] = json::array{descriptions.size(), text->size()};
        descriptions += *text;
        descriptions += '\n';
      }
      index.emplace(key, std::move(entry));
    }
    const std::filesystem::path dir = file_.parent_path();
    make_private_directories(dir, ErrorCode::io);
    check_private_directory(dir, "plugin cache directory", ErrorCode::io);
    const std::string index_line =
        json::serialize(json::object{{"format", kFormat},
                                     {"version", kFormatVersion},
                                     {"llmrt", LLMRT_VERSION},
                                     {"host_abi", host_abi_version()},
                                     {"details_bytes", descriptions.size()},
                                     {"plugins", index}});
    const std::string text = index_line + '\n' + descriptions;
    std::string pattern = (dir / (file_.filename().string() + ".XXXXXX")).string();
    fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // created 0600, O_RDWR
    if (fd < 0) {
      throw Error(ErrorCode::io,
                  "cannot create a file in " + quoted_path(dir) + ": " + std::strerror(errno));
    }
    temp = pattern;
    write_all(fd, text, temp);
    // No fsync: after a crash the cache may be empty or cut short, which reads as corrupt and is
    // rebuilt; it never holds anything that cannot be found again.
    if (::rename(temp.c_str(), file_.c_str()) != 0) {
      throw Error(ErrorCode::io,
                  "cannot replace " + quoted_path(file_) + ": " + std::strerror(errno));
    }
    // The cache of the previous format, next to this one under its own name, is never read again.
    if (file_.filename() == "plugins-v2.json") ::unlink((dir / "plugins-v1.json").c_str());
    // From now on descriptions are read from the file just written, through the same descriptor.
    if (details_.fd >= 0) ::close(details_.fd);
    details_ = {std::exchange(fd, -1), index_line.size() + 1, descriptions.size()};
    plugins_ = std::move(index);
    put_descriptions_.clear();
    changed_ = false;
    return {};
  } catch (const std::exception& error) {
    if (fd >= 0) ::close(fd);
    if (!temp.empty()) ::unlink(temp.c_str());
    return "the plugin cache was not saved: " + std::string(error.what());
  }
}

}  // namespace llmrt::plugin_cache
