// One keys-file entry with versions, as JSON, and the rules every version follows:
//
//   "openai": {"versions": [
//     {"label": "current", "key": "sk-...", "added": "2026-11-30T12:00:00Z"},
//     {"label": "pending", "key": "sk-...", "weight": 10, "added": "2026-11-30T12:05:00Z"}]}
//
// The plain form "openai": "sk-..." is one current version without weight or added time. Pure
// functions on Boost.JSON values: the keys file (keys_file.cpp) does the reading, locking and
// writing; the chooser (version_choice.hpp) picks one version per call.
#ifndef LLMRT_KEY_VERSIONS_VERSIONED_ENTRY_HPP
#define LLMRT_KEY_VERSIONS_VERSIONED_ENTRY_HPP

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmrt::key_versions {

inline constexpr std::string_view kCurrent = "current";
inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kPrevious = "previous";
// The largest weight: weights are relative, 100 is the usual scale.
inline constexpr std::uint32_t kMaxWeight = 1000000;
// The most versions one name may hold.
inline constexpr std::size_t kMaxVersions = 32;

// Throws Error(usage) unless `label` is 1..32 of [a-z0-9._-] (current, pending, previous or free).
void validate_label(std::string_view label);

// Throws Error(usage) unless 0 <= weight <= kMaxWeight.
std::uint32_t checked_weight(std::int64_t weight);

// "" when `value` is a well-formed keys-file value (a string, or {"versions": [...]} with unique
// labels, exactly one "current", string keys, optional weights and added times), else what is
// wrong with it, never quoting a key.
std::string problem_with(const boost::json::value& value);

// Precondition for the functions below: problem_with(entry) == "".

// The versions array of a versioned entry, or nullptr for the plain form.
const boost::json::array* versions_of(const boost::json::value& entry);

// The version labelled `label` in a versioned entry, or nullptr.
boost::json::object* find_version(boost::json::array& versions, std::string_view label);

// Turns `entry` into the versioned form (a plain key becomes the current version), in place, in
// the entry's own memory resource. Returns its versions array.
boost::json::array& make_versioned(boost::json::value& entry);

// The current time as RFC 3339 UTC, eg: "2026-11-30T12:00:00Z", for "added".
std::string now_utc();

}  // namespace llmrt::key_versions

#endif  // LLMRT_KEY_VERSIONS_VERSIONED_ENTRY_HPP
