// Reading fields of a provider's JSON answer that may be missing or of another type: a field that
// is not what was expected reads as absent, never as an error (providers add and change fields).
// The pointers returned point into `object` and live as long as it does. Pure; any thread.
#ifndef LLMRT_PROVIDER_JSON_FIELDS_HPP
#define LLMRT_PROVIDER_JSON_FIELDS_HPP

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>

namespace llmrt::provider {

// object[name] when `object` is not nullptr and that field is an object; else nullptr.
inline const boost::json::object* object_at(const boost::json::object* object,
                                            std::string_view name) {
  if (object == nullptr) return nullptr;
  const boost::json::value* value = object->if_contains(name);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

// object[name] when `object` is not nullptr and that field is a string; else "".
inline std::string_view string_at(const boost::json::object* object, std::string_view name) {
  if (object == nullptr) return {};
  const boost::json::value* value = object->if_contains(name);
  return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                : std::string_view();
}

}  // namespace llmrt::provider

#endif  // LLMRT_PROVIDER_JSON_FIELDS_HPP
