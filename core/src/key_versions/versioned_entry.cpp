#include "key_versions/versioned_entry.hpp"

#include <llmrt/error.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

namespace llmrt::key_versions {
namespace json = boost::json;

void validate_label(std::string_view label) {
  const bool valid =
      !label.empty() && label.size() <= 32 && std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      });
  if (!valid) {
    throw Error(ErrorCode::usage, "invalid key version label '" + std::string(label.substr(0, 32)) +
                                      "': use 1 to 32 of the characters a-z 0-9 . _ - (eg: "
                                      "current, pending, previous, tier2)");
  }
}

std::uint32_t checked_weight(std::int64_t weight) {
  if (weight < 0 || weight > static_cast<std::int64_t>(kMaxWeight)) {
    throw Error(ErrorCode::usage, "invalid key version weight " + std::to_string(weight) +
                                      ": use a whole number from 0 to " +
                                      std::to_string(kMaxWeight));
  }
  return static_cast<std::uint32_t>(weight);
}

std::string problem_with(const json::value& value) {
  if (value.is_string()) return "";
  if (!value.is_object()) return "is not a string (a key) nor an object with \"versions\"";
  const json::object& object = value.as_object();
  const json::value* versions = object.if_contains("versions");
  if (versions == nullptr || object.size() != 1 || !versions->is_array()) {
    return "must be a key (a string) or {\"versions\": [...]}";
  }
  const json::array& list = versions->as_array();
  if (list.empty() || list.size() > kMaxVersions) {
    return "has " + std::to_string(list.size()) + " versions (1 to " +
           std::to_string(kMaxVersions) + " allowed)";
  }
  std::set<std::string, std::less<>> labels;
  for (const json::value& item : list) {
    if (!item.is_object()) return "has a version that is not an object";
    const json::object& version = item.as_object();
    const json::value* label = version.if_contains("label");
    if (label == nullptr || !label->is_string()) return "has a version without a \"label\" string";
    const std::string name(label->as_string());
    try {
      validate_label(name);
    } catch (const Error&) {
      return "has an invalid version label '" + name.substr(0, 32) + "'";
    }
    if (!labels.insert(name).second) return "has two versions labelled '" + name + "'";
    const json::value* key = version.if_contains("key");
    if (key == nullptr || !key->is_string()) {
      return "has version '" + name + "' without a \"key\" string";
    }
    const json::value* weight = version.if_contains("weight");
    if (weight != nullptr && !(weight->is_int64() && weight->as_int64() >= 0 &&
                               weight->as_int64() <= static_cast<std::int64_t>(kMaxWeight))) {
      return "has version '" + name + "' with a \"weight\" that is not a whole number from 0 to " +
             std::to_string(kMaxWeight);
    }
    const json::value* added = version.if_contains("added");
    if (added != nullptr && !added->is_string()) {
      return "has version '" + name + "' with an \"added\" that is not a string";
    }
    for (const auto& member : version) {
      if (member.key() != "label" && member.key() != "key" && member.key() != "weight" &&
          member.key() != "added") {
        return "has version '" + name + "' with an unknown member '" +
               std::string(member.key().substr(0, 32)) + "'";
      }
    }
  }
  if (labels.count(kCurrent) == 0) return "has no version labelled 'current'";
  return "";
}

const json::array* versions_of(const json::value& entry) {
  if (!entry.is_object()) return nullptr;
  return &entry.as_object().at("versions").as_array();
}

json::object* find_version(json::array& versions, std::string_view label) {
  for (json::value& item : versions) {
    if (item.as_object().at("label").as_string() == label) return &item.as_object();
  }
  return nullptr;
}

json::array& make_versioned(json::value& entry) {
  if (entry.is_object()) return entry.as_object().at("versions").as_array();
  const json::storage_ptr storage = entry.storage();
  json::object current(storage);
  current["label"] = kCurrent;
  current["key"] = std::move(entry.as_string());
  json::array versions(storage);
  versions.push_back(std::move(current));
  json::object wrapper(storage);
  wrapper["versions"] = std::move(versions);
  entry = std::move(wrapper);
  return entry.as_object().at("versions").as_array();
}

std::string now_utc() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace llmrt::key_versions
