#include "key_versions/version_choice.hpp"

#include "key_versions/versioned_entry.hpp"

namespace llmrt::key_versions {

OutOfRotation& OutOfRotation::process() {
  static OutOfRotation instance;
  return instance;
}

bool OutOfRotation::contains(const std::filesystem::path& file, std::string_view name,
                             std::string_view label, const std::string& fingerprint) const {
  std::lock_guard lock(mutex_);
  return out_.count({file.string(), std::string(name), std::string(label), fingerprint}) > 0;
}

bool OutOfRotation::take_out(const std::filesystem::path& file, std::string_view name,
                             std::string_view label, const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  return out_.insert({file.string(), std::string(name), std::string(label), fingerprint}).second;
}

namespace {

// The weight each version has in the choice; excluded versions have 0.
std::vector<std::uint64_t> effective_weights(const std::vector<StoredKeyVersion>& versions,
                                             std::size_t current,
                                             const std::function<bool(std::size_t)>& excluded) {
  std::vector<std::uint64_t> weights(versions.size(), 0);
  std::uint64_t others = 0;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (i == current || excluded(i)) continue;
    weights[i] = versions[i].weight.value_or(0);
    others += weights[i];
  }
  weights[current] =
      versions[current].weight ? *versions[current].weight : (others < 100 ? 100 - others : 0);
  return weights;
}

std::size_t current_of(const std::vector<StoredKeyVersion>& versions) {
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].label == kCurrent) return i;
  }
  return 0;
}

}  // namespace

std::size_t choose_version(const std::vector<StoredKeyVersion>& versions, VersionRequest request,
                           const std::function<bool(std::size_t)>& excluded,
                           const std::function<std::uint64_t(std::uint64_t)>& draw) {
  const std::size_t current = current_of(versions);
  if (!request.pinned.empty()) {
    for (std::size_t i = 0; i < versions.size(); ++i) {
      if (versions[i].label == request.pinned && (i == current || !excluded(i))) return i;
    }
  }
  const std::vector<std::uint64_t> weights = effective_weights(versions, current, excluded);
  std::uint64_t total = 0;
  for (const std::uint64_t weight : weights) total += weight;
  if (total == 0) return current;
  std::uint64_t ticket = draw(total);
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (ticket < weights[i]) return i;
    ticket -= weights[i];
  }
  return current;  // not reached: the tickets add up to `total`
}

std::optional<ChosenVersion> choose_stored_key(const KeysFile& file, std::string_view name,
                                               VersionRequest request, VersionDraw& draw) {
  std::vector<StoredKeyVersion> versions = file.versions(name);
  if (versions.empty()) return std::nullopt;
  std::size_t chosen = 0;
  if (versions.size() > 1) {
    const OutOfRotation& out = OutOfRotation::process();
    chosen = choose_version(
        versions, request,
        [&](std::size_t i) {
          return out.contains(file.path(), name, versions[i].label, versions[i].key.fingerprint());
        },
        [&](std::uint64_t total) { return draw(total); });
  }
  return ChosenVersion{std::move(versions[chosen].key), std::move(versions[chosen].label)};
}

VersionDraw::VersionDraw(std::optional<std::uint64_t> seed) {
  if (seed) engine_.emplace(*seed);
}

std::uint64_t VersionDraw::operator()(std::uint64_t total) {
  std::uniform_int_distribution<std::uint64_t> distribution(0, total - 1);
  std::lock_guard lock(mutex_);
  if (!engine_) {
    std::random_device device;
    engine_.emplace((static_cast<std::uint64_t>(device()) << 32) ^ device());
  }
  return distribution(*engine_);
}

}  // namespace llmrt::key_versions

namespace llmrt {

void validate_key_version_label(std::string_view label) {
  key_versions::validate_label(label);
}

std::uint32_t checked_key_version_weight(std::int64_t weight) {
  return key_versions::checked_weight(weight);
}

std::vector<double> key_version_shares(const std::vector<StoredKeyVersion>& versions) {
  const std::size_t current = key_versions::current_of(versions);
  const std::vector<std::uint64_t> weights =
      key_versions::effective_weights(versions, current, [](std::size_t) { return false; });
  std::uint64_t total = 0;
  for (const std::uint64_t weight : weights) total += weight;
  std::vector<double> shares(versions.size(), 0.0);
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (total == 0) {
      shares[i] = i == current ? 100.0 : 0.0;
    } else {
      shares[i] = 100.0 * static_cast<double>(weights[i]) / static_cast<double>(total);
    }
  }
  return shares;
}

}  // namespace llmrt
