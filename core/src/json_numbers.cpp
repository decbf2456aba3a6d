#include "json_numbers.hpp"

#include <boost/json.hpp>
#include <cmath>

namespace llmrt {
namespace {

bool find_non_finite(const boost::json::value& value, std::string& path) {
  switch (value.kind()) {
    case boost::json::kind::double_:
      return !std::isfinite(value.get_double());
    case boost::json::kind::array: {
      const boost::json::array& items = value.get_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        const std::size_t size = path.size();
        path += "[" + std::to_string(i) + "]";
        if (find_non_finite(items[i], path)) return true;
        path.resize(size);
      }
      return false;
    }
    case boost::json::kind::object:
      for (const auto& member : value.get_object()) {
        const std::size_t size = path.size();
        if (!path.empty()) path += '.';
        path += member.key();
        if (find_non_finite(member.value(), path)) return true;
        path.resize(size);
      }
      return false;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> non_finite_number_at(const boost::json::value& value) {
  std::string path;
  if (find_non_finite(value, path)) return path;
  return std::nullopt;
}

}  // namespace llmrt
