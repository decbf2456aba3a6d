#include "scrub.hpp"

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace llmrt {

std::string scrub_secrets(std::string_view message, std::span<const std::string_view> secrets,
                          std::size_t max_size) {
  // Which bytes of `message` belong to a secret. Every kSecretFragment-byte window of every
  // secret goes into one set (views into the secrets: no copy of their bytes is made), and every
  // window of the message is looked up in it.
  std::vector<bool> secret_byte(message.size(), false);
  std::unordered_set<std::string_view> windows;
  for (const std::string_view secret : secrets) {
    if (secret.empty()) continue;
    if (secret.size() < kSecretFragment) {
      for (std::size_t at = message.find(secret); at != std::string_view::npos;
           at = message.find(secret, at + 1)) {
        for (std::size_t i = 0; i < secret.size(); ++i) secret_byte[at + i] = true;
      }
      continue;
    }
    for (std::size_t i = 0; i + kSecretFragment <= secret.size(); ++i) {
      windows.insert(secret.substr(i, kSecretFragment));
    }
  }
  if (!windows.empty()) {
    for (std::size_t i = 0; i + kSecretFragment <= message.size(); ++i) {
      if (windows.count(message.substr(i, kSecretFragment)) == 0) continue;
      for (std::size_t j = i; j < i + kSecretFragment; ++j) secret_byte[j] = true;
    }
  }

  std::string clean;
  clean.reserve(std::min(message.size(), max_size) + kRedacted.size());
  std::size_t i = 0;
  while (i < message.size() && clean.size() < max_size) {
    if (secret_byte[i]) {
      clean.append(kRedacted);
      while (i < message.size() && secret_byte[i]) ++i;
      continue;
    }
    const auto byte = static_cast<unsigned char>(message[i++]);
    clean.push_back(byte < 0x20 || byte == 0x7F ? ' ' : static_cast<char>(byte));
  }
  if (i < message.size() || clean.size() > max_size) {
    clean.resize(std::min(clean.size(), max_size));
    clean += "...";
  }
  return clean;
}

}  // namespace llmrt
