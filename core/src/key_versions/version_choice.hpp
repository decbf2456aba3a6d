// Which version of a stored key one call uses: by weight, or the version a conversation or a
// gateway session stuck to, never one this process has taken out of rotation.
//
// Weights are relative: a version with weight w takes w / (sum of weights) of the calls. A
// version without a weight takes none, except "current", which takes what the others leave of 100
// (so "pending" with weight 10 beside a current without weight takes 10% of the calls). When every
// weight is 0, "current" takes every call.
#ifndef LLMRT_KEY_VERSIONS_VERSION_CHOICE_HPP
#define LLMRT_KEY_VERSIONS_VERSION_CHOICE_HPP

#include <llmrt/keys_file.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace llmrt::key_versions {

// What a caller may ask of the choice: a version to stick to ("" for none).
struct VersionRequest {
  std::string_view pinned;
};

// The versions of stored keys the provider rejected (LLMRT_KEY_REJECTED). Process-wide: once a
// version is out, no runtime of this process chooses it again. A version is known by its keys
// file, name, label and key fingerprint, so that a version given a new key comes back.
// Thread-safe.
class OutOfRotation {
 public:
  static OutOfRotation& process();
  bool contains(const std::filesystem::path& file, std::string_view name, std::string_view label,
                const std::string& fingerprint) const;
  // True if it was not out yet.
  bool take_out(const std::filesystem::path& file, std::string_view name, std::string_view label,
                const std::string& fingerprint);

 private:
  using Id = std::tuple<std::string, std::string, std::string, std::string>;
  mutable std::mutex mutex_;
  std::set<Id> out_;
};

// The index of the version one call uses, among `versions` (non-empty, one labelled "current").
// `excluded(i)` tells versions out of rotation (never "current"). `draw(total)` returns a
// uniformly distributed number in [0, total).
std::size_t choose_version(const std::vector<StoredKeyVersion>& versions, VersionRequest request,
                           const std::function<bool(std::size_t)>& excluded,
                           const std::function<std::uint64_t(std::uint64_t)>& draw);

// A stored key chosen for one call: the key and its version label.
struct ChosenVersion {
  Key key;
  std::string label;  // eg: "pending"
};

// Reads the versions of `name` in `file` (once) and chooses one: the pinned version if it is
// still there and in rotation, else by weight among those in rotation. nullopt when the name is
// not stored. Throws as KeysFile::versions.
class VersionDraw;
std::optional<ChosenVersion> choose_stored_key(const KeysFile& file, std::string_view name,
                                               VersionRequest request, VersionDraw& draw);

// A random source for the choice: seeded for tests (RuntimeConfig::key_version_seed), else from
// std::random_device on the first draw (most processes never draw). Thread-safe.
class VersionDraw {
 public:
  explicit VersionDraw(std::optional<std::uint64_t> seed);
  std::uint64_t operator()(std::uint64_t total);

 private:
  std::mutex mutex_;
  std::optional<std::mt19937_64> engine_;  // made by the first draw without a seed
};

}  // namespace llmrt::key_versions

#endif  // LLMRT_KEY_VERSIONS_VERSION_CHOICE_HPP
