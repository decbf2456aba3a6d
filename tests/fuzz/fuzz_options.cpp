// A model's options schema, which comes from its plugin (a third party's), and the options a call
// gives it, which come from a user or a gateway client. The input is the schema, a NUL, the
// call's options_json, a NUL, then `name=value` lines of named options. Only std::invalid_argument
// (a bad schema) and Error(bad_request) (bad options) may come out, and what the plugin is given
// must be a JSON object holding only options its schema declares.
#include <llmrt/error.hpp>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "options_schema.hpp"

namespace {

std::string_view next_part(std::string_view& rest) {
  const std::size_t end = rest.find('\0');
  const std::string_view part = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view schema_text = next_part(rest);
  const std::string_view options_json = next_part(rest);
  OptionValues named;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const std::size_t equals = line.find('=');
    named.emplace_back(
        std::string(line.substr(0, equals)),
        equals == std::string_view::npos ? "" : std::string(line.substr(equals + 1)));
  }
  OptionsSchema schema;
  try {
    schema = OptionsSchema::parse(schema_text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  std::set<std::string> declared;
  for (const auto& option : schema.options()) declared.insert(option.name);
  std::string built;
  try {
    built = schema.build("fuzz", {}, named, options_json);
  } catch (const Error& error) {
    LLMRT_FUZZ_CHECK(error.code() == ErrorCode::bad_request, "bad options are a bad request");
    return 0;
  }
  boost::system::error_code ec;
  const boost::json::value given = boost::json::parse(built, ec);
  LLMRT_FUZZ_CHECK(!ec && given.is_object(), "the plugin is given a JSON object");
  if (!declared.empty()) {
    for (const auto& [name, value] : given.as_object()) {
      LLMRT_FUZZ_CHECK(declared.count(std::string(name)) == 1, "only declared options pass");
    }
  }
  return 0;
}
