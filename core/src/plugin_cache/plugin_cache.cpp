#include "plugin_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "safe_file.hpp"

namespace llmrt::plugin_cache {
namespace {

namespace json = boost::json;

constexpr std::string_view kFormat = "llmrt-plugin-cache";
constexpr std::int64_t kFormatVersion = 1;  // the "v1" of plugins-v1.json
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

std::optional<FileIdentity> identify(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  return FileIdentity{
      static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino),
      static_cast<std::uint64_t>(status.st_size),
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec};
}

std::optional<std::filesystem::path> default_cache_file(const EnvironmentLookup& environment) {
  const auto non_empty = [&](const char* name) -> const char* {
    const char* value = environment ? environment(name) : std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  if (const char* xdg = non_empty("XDG_CACHE_HOME")) {
    return std::filesystem::path(xdg) / "llmrt" / "plugins-v1.json";
  }
  if (const char* home = non_empty("HOME")) {
    return std::filesystem::path(home) / ".cache" / "llmrt" / "plugins-v1.json";
  }
  return std::nullopt;
}

PluginCache::Contents PluginCache::read(const std::filesystem::path& file) {
  Contents contents;
  try {
    check_private_directory(file.parent_path(), "plugin cache directory", ErrorCode::io);
    std::optional<SafeFile> opened = SafeFile::open(file, cache_rules());
    if (!opened) return contents;
    const SecretString text = opened->read();
    // One arena for the whole tree: parsing 1000 entries allocates ~20000 small nodes, and the
    // arena frees them at once (this is on the start-up path of every command).
    json::value root = json::parse(std::string_view(text.data(), text.size()),
                                   json::make_shared_resource<json::monotonic_resource>());
    json::object& top = root.as_object();
    if (top.at("format").as_string() != kFormat ||
        top.at("version").to_number<std::int64_t>() != kFormatVersion ||
        top.at("llmrt").as_string() != LLMRT_VERSION ||
        json::value_to<std::uint32_t>(top.at("host_abi")) != host_abi_version()) {
      contents.ignored_because = "it was written by another llmrt or in another format";
      return contents;
    }
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
      ignored_because_(std::move(contents.ignored_because)) {}

std::optional<Entry> PluginCache::find(const std::string& canonical_path,
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
    Entry found;
    found.identity = identity;
    if (const json::value* error = entry.if_contains("error")) {
      const json::object& refusal = error->as_object();
      const std::optional<LoadErrorKind> kind = kind_from(refusal.at("kind").as_string());
      if (!kind) return std::nullopt;
      found.error =
          LoadError{canonical_path, *kind, json::value_to<std::string>(refusal.at("message"))};
    } else {
      found.description = isolation::description_from_object(entry.at("plugin").as_object());
    }
    return found;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is a miss: the file is inspected again
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
    stored["plugin"] = isolation::to_json_object(*entry.description);
  }
  std::lock_guard lock(mutex_);
  plugins_[canonical_path] = std::move(stored);
  changed_ = true;
}

void PluginCache::forget_all() {
  std::lock_guard lock(mutex_);
  plugins_.clear();
  changed_ = true;
}

std::string PluginCache::save() {
  std::lock_guard lock(mutex_);
  if (!changed_) return {};
  std::filesystem::path temp;
  int fd = -1;
  try {
    for (auto it = plugins_.begin(); it != plugins_.end();) {
      it = identify(std::string(it->key())) ? std::next(it) : plugins_.erase(it);
    }
    const std::filesystem::path dir = file_.parent_path();
    make_private_directories(dir, ErrorCode::io);
    check_private_directory(dir, "plugin cache directory", ErrorCode::io);
    const std::string text = json::serialize(json::object{{"format", kFormat},
                                                          {"version", kFormatVersion},
                                                          {"llmrt", LLMRT_VERSION},
                                                          {"host_abi", host_abi_version()},
                                                          {"plugins", plugins_}});
    std::string pattern = (dir / (file_.filename().string() + ".XXXXXX")).string();
    fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // created 0600
    if (fd < 0) {
      throw Error(ErrorCode::io,
                  "cannot create a file in " + quoted_path(dir) + ": " + std::strerror(errno));
    }
    temp = pattern;
    write_all(fd, text, temp);
    // No fsync: after a crash the cache may be empty or cut short, which reads as corrupt and is
    // rebuilt; it never holds anything that cannot be found again.
    ::close(std::exchange(fd, -1));
    if (::rename(temp.c_str(), file_.c_str()) != 0) {
      throw Error(ErrorCode::io,
                  "cannot replace " + quoted_path(file_) + ": " + std::strerror(errno));
    }
    changed_ = false;
    return {};
  } catch (const std::exception& error) {
    if (fd >= 0) ::close(fd);
    if (!temp.empty()) ::unlink(temp.c_str());
    return "the plugin cache was not saved: " + std::string(error.what());
  }
}

}  // namespace llmrt::plugin_cache
