#include "deny_list.hpp"

#include <sys/stat.h>
#include <llmrt/error.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "safe_file.hpp"
#include "session_keys.hpp"

namespace llmrt::serve {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_key_id(std::string_view text) {
  if (text.size() != 16) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

long long nanoseconds(const struct timespec& time) {
  return static_cast<long long>(time.tv_sec) * 1000000000LL + time.tv_nsec;
}

// A deny list is not secret, but whoever can write it can un-revoke a key: the caller's own regular
// file, not writable by group or others, at most 1 MiB.
FileRules deny_list_rules() {
  return {"deny-list file", ErrorCode::io, false, kMaxDenyListSize};
}

}  // namespace

DenyList::DenyList(std::filesystem::path path, std::FILE* warnings)
    : path_(std::move(path)), warnings_(warnings) {
  std::optional<SafeFile> file = SafeFile::open(path_, deny_list_rules());
  if (!file) {
    throw Error(ErrorCode::io,
                "cannot read the deny-list file " + quoted_path(path_) + ": it does not exist");
  }
  const SecretString text = file->read();
  Parsed parsed = parse(std::string_view(text.data(), text.size()));
  if (!parsed.problems.empty()) {
    std::string message = "deny-list file '" + path_.string() + "' has malformed entries: ";
    for (std::size_t i = 0; i < parsed.problems.size() && i < 5; ++i) {
      message += (i ? "; " : "") + parsed.problems[i];
    }
    throw Error(ErrorCode::usage, message);
  }
  const struct stat& status = file->status();
  stamp_ = {status.st_dev, status.st_ino, status.st_size, nanoseconds(status.st_mtim),
            nanoseconds(status.st_ctim)};
  key_ids_ = std::move(parsed.key_ids);
  tenants_ = std::move(parsed.tenants);
}

DenyList::Parsed DenyList::parse(std::string_view text) {
  Parsed parsed;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    constexpr std::string_view kTenant = "tenant:";
    if (line.starts_with(kTenant)) {
      const std::string_view tenant = trim(line.substr(kTenant.size()));
      if (is_tenant_name(tenant)) {
        parsed.tenants.emplace(tenant);
        continue;
      }
      parsed.problems.push_back("line " + std::to_string(number) +
                                ": not a tenant name after 'tenant:'");
      continue;
    }
    std::string lower(line);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_key_id(lower)) {
      parsed.key_ids.insert(std::move(lower));
      continue;
    }
    // The entry is not echoed: an operator may have pasted a whole session key by mistake.
    parsed.problems.push_back("line " + std::to_string(number) +
                              ": neither a key id (16 hex digits) nor tenant:NAME");
  }
  return parsed;
}

void DenyList::warn(const std::string& message) {
  if (warnings_ == nullptr) return;
  const std::string line = "llmrt: warning: " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), warnings_);
  std::fflush(warnings_);
}

void DenyList::refresh_locked() {
  struct stat status {};
  if (::lstat(path_.c_str(), &status) != 0 && errno == ENOENT) {
    // Deleted (eg: between an editor's unlink and write): the entries last read stay in force.
    if (!missing_reported_) {
      warn("the deny-list file '" + path_.string() +
           "' does not exist; the entries last read stay in force");
      missing_reported_ = true;
    }
    return;
  }
  missing_reported_ = false;
  const Stamp now{status.st_dev, status.st_ino, status.st_size, nanoseconds(status.st_mtim),
                  nanoseconds(status.st_ctim)};
  if (now == stamp_) return;  // unchanged since it was last read (or last refused)
  stamp_ = now;
  try {
    std::optional<SafeFile> file = SafeFile::open(path_, deny_list_rules());
    if (!file) return;  // removed since lstat: the next check reports it
    const SecretString text = file->read();
    Parsed parsed = parse(std::string_view(text.data(), text.size()));
    for (const std::string& problem : parsed.problems) {
      warn("deny-list file '" + path_.string() + "' " + problem + " (skipped)");
    }
    key_ids_ = std::move(parsed.key_ids);
    tenants_ = std::move(parsed.tenants);
    if (!broken_.empty()) warn("the deny-list file '" + path_.string() + "' is usable again");
    broken_.clear();
  } catch (const Error& error) {
    // Fail closed: a deny list that cannot be trusted or read must not let a revoked key through.
    broken_ = error.what();
    warn(broken_ + "; every session key is refused (HTTP 503) until it is fixed");
  }
}

Denial DenyList::check(std::string_view tenant, std::string_view key_id) {
  std::lock_guard lock(mutex_);
  refresh_locked();
  if (!broken_.empty()) return Denial::unavailable;
  if (tenants_.find(tenant) != tenants_.end()) return Denial::tenant;
  if (key_ids_.find(key_id) != key_ids_.end()) return Denial::key_id;
  return Denial::none;
}

}  // namespace llmrt::serve
