#include "credentials/providers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cleansing_memory.hpp"

namespace llmrt::credentials {
namespace {

std::string in_quotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

ProviderAnswer EnvironmentProvider::fetch(const ProviderRequest& request) const {
  const std::string& variable = request.model.key_env_var;
  if (variable.empty()) return ProviderAnswer::not_found();
  const char* value = request.environment(variable.c_str());
  if (value == nullptr || *value == '\0') return ProviderAnswer::not_found();
  Key key{std::string_view(value)};
  if (!is_valid_key(key.reveal())) validate_key(key.reveal(), "the key from " + variable);
  return ProviderAnswer::found(std::move(key));
}

ProviderAnswer EnvironmentFileProvider::fetch(const ProviderRequest& request) const {
  const char* value = request.environment(variable_.c_str());
  if (value == nullptr || *value == '\0') return ProviderAnswer::not_found();
  const std::string path = value;
  const std::string source =
      "credential source environment_file: " + variable_ + " names " + in_quotes(path);
  const auto broken = [&](const std::string& why) {
    return ProviderAnswer::broken(source + ", which " + why + "; fix the file or unset " +
                                  variable_);
  };

  // Symbolic links are followed: Docker and Kubernetes secrets are often links.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return broken(std::string("cannot be read: ") + std::strerror(errno));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    return broken("is not a regular file");
  }
  // A key, plus a trailing "\r\n".
  constexpr std::size_t kMaxFileSize = kMaxKeySize + 2;
  SecretString text = make_secret_string(kMaxFileSize + 1);
  char chunk[1024];
  bool too_big = false;
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int saved = errno;
      cleanse(chunk, sizeof chunk);
      ::close(fd);
      return broken(std::string("cannot be read: ") + std::strerror(saved));
    }
    if (got == 0) break;
    if (text.size() + static_cast<std::size_t>(got) > kMaxFileSize) {
      too_big = true;
      break;
    }
    text.append(chunk, static_cast<std::size_t>(got));
  }
  cleanse(chunk, sizeof chunk);
  ::close(fd);
  if (too_big) {
    return broken("holds more than " + std::to_string(kMaxFileSize) + " bytes (a key is at most " +
                  std::to_string(kMaxKeySize) + ")");
  }
  std::string_view key_text(text.data(), text.size());
  if (key_text.ends_with("\r\n")) {
    key_text.remove_suffix(2);
  } else if (key_text.ends_with('\n')) {
    key_text.remove_suffix(1);
  }
  if (key_text.empty()) return broken("is empty");
  Key key{key_text};
  validate_key(key.reveal(), "the key in " + in_quotes(path) + " (named by " + variable_ + ")");
  return ProviderAnswer::found(std::move(key));
}

ProviderAnswer KeysFileProvider::fetch(const ProviderRequest& request) const {
  const std::string& name = request.model.key_name;
  std::optional<key_versions::ChosenVersion> stored;
  try {
    stored = key_versions::choose_stored_key(request.keys_file, name, {request.key_version},
                                             request.version_draw);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::keys_file) throw;
    return ProviderAnswer::broken(error.what(), ErrorCode::keys_file);
  }
  if (!stored) return ProviderAnswer::not_found();
  validate_key(stored->key.reveal(), "the key stored as '" + name + "' (version " + stored->label +
                                         ") in " + request.keys_file.path().string());
  ProviderAnswer answer = ProviderAnswer::found(std::move(stored->key));
  answer.version = std::move(stored->label);
  return answer;
}

ProviderAnswer CommandProvider::fetch(const ProviderRequest&) const {
  try {
    return ProviderAnswer::found(cache_->get());
  } catch (const Error& error) {
    if (error.code() != ErrorCode::credential_source) throw;
    return ProviderAnswer::broken(error.what());
  }
}

}  // namespace llmrt::credentials
