// Numbers that JSON cannot carry. Boost.JSON 1.81 reads 1e999 as infinity and 0e999 as NaN, and
// writes them back as `Infinity` and `NaN`, which are not JSON: whatever passes such a number on
// (call options to a plugin, a gateway request to a model) must refuse it first.
//
// Threading: a pure function. Errors: none but std::bad_alloc.
#ifndef LLMRT_JSON_NUMBERS_HPP
#define LLMRT_JSON_NUMBERS_HPP

#include <boost/json/value.hpp>
#include <optional>
#include <string>

namespace llmrt {

// Where the first non-finite number in `value` is, eg: "messages[0].n", "top_p", or "" for
// `value` itself; nullopt when every number in it is finite.
std::optional<std::string> non_finite_number_at(const boost::json::value& value);

}  // namespace llmrt

#endif  // LLMRT_JSON_NUMBERS_HPP
