#include "options_schema.hpp"

#include <llmrt/error.hpp>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "json_numbers.hpp"

namespace llmrt {
namespace {

namespace json = boost::json;

OptionsSchema::Type type_named(std::string_view name) {
  using Type = OptionsSchema::Type;
  if (name == "string") return Type::string;
  if (name == "integer") return Type::integer;
  if (name == "number") return Type::number;
  if (name == "boolean") return Type::boolean;
  if (name == "array") return Type::array;
  if (name == "object") return Type::object;
  throw std::invalid_argument("unknown type '" + std::string(name) + "'");
}

std::string_view type_name(OptionsSchema::Type type) {
  switch (type) {
    case OptionsSchema::Type::string:
      return "a string";
    case OptionsSchema::Type::integer:
      return "an integer";
    case OptionsSchema::Type::number:
      return "a number";
    case OptionsSchema::Type::boolean:
      return "true or false";
    case OptionsSchema::Type::array:
      return "a JSON array";
    case OptionsSchema::Type::object:
      return "a JSON object";
    case OptionsSchema::Type::any:
      return "any JSON value";
  }
  return "a value";
}

std::optional<double> number_field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number())
    throw std::invalid_argument("'" + std::string(name) + "' must be a number");
  return value->to_number<double>();
}

// 2, 0.5, 1e+20: as a person would write a schema bound.
std::string number_text(double number) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", number);
  return text;
}

class CallOptionsBuilder {
 public:
  CallOptionsBuilder(const OptionsSchema& schema, std::string_view model_id)
      : schema_(schema), model_id_(model_id) {}

  void add_text(const std::string& name, const std::string& text) {
    const OptionsSchema::Option& option = find(name);
    add_value(option, convert(option, text));
  }

  void add_json(std::string_view options_json) {
    boost::system::error_code ec;
    json::value parsed = json::parse(options_json, ec);
    if (ec || !parsed.is_object()) {
      fail("options for model '" + std::string(model_id_) + "' must be a JSON object");
    }
    for (auto& entry : parsed.as_object()) {
      const OptionsSchema::Option& option = find(std::string(entry.key()));
      add_value(option, std::move(entry.value()));
    }
  }

  std::string text() const { return json::serialize(result_); }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::bad_request, message);
  }

  const OptionsSchema::Option& find(const std::string& name) const {
    for (const auto& option : schema_.options()) {
      if (option.name == name) return option;
    }
    std::string known;
    for (const auto& option : schema_.options()) known += (known.empty() ? "" : ", ") + option.name;
    // `-o delay_ms=5` where `-o delay_ms 5` was meant: name the option that was.
    if (const std::size_t equals = name.find('='); equals != std::string::npos) {
      const std::string meant = name.substr(0, equals);
      for (const auto& option : schema_.options()) {
        if (option.name == meant) {
          fail("model '" + std::string(model_id_) + "' has no option '" + name +
               "'; did you mean its option '" + meant + "' with the value '" +
               name.substr(equals + 1) + "'?");
        }
      }
    }
    fail("model '" + std::string(model_id_) + "' has no option '" + name + "'" +
         (known.empty() ? " (it takes no options)" : " (its options: " + known + ")"));
  }

  // A named option's text as a JSON string. The plugin is promised valid JSON, and JSON text is
  // UTF-8: bytes that are not (a terminal in another encoding, a stray byte) are refused here.
  // Boost.JSON's parser checks the encoding of the string as serialized.
  json::value text_value(const OptionsSchema::Option& option, const std::string& text) const {
    json::value value = json::string(text);
    boost::system::error_code ec;
    json::parse(json::serialize(value), ec);
    if (ec) {
      fail("option '" + option.name + "' of model '" + std::string(model_id_) +
           "' is not valid UTF-8 text");
    }
    return value;
  }

  json::value convert(const OptionsSchema::Option& option, const std::string& text) const {
    using Type = OptionsSchema::Type;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    switch (option.type) {
      case Type::string:
        return text_value(option, text);
      case Type::integer: {
        std::int64_t number = 0;
        const auto [ptr, ec] = std::from_chars(begin, end, number);
        if (ec == std::errc() && ptr == end && !text.empty()) return number;
        break;
      }
      case Type::number: {
        double number = 0;
        const auto [ptr, ec] = std::from_chars(begin, end, number);
        if (ec == std::errc() && ptr == end && !text.empty() && std::isfinite(number)) {
          return number;
        }
        break;
      }
      case Type::boolean:
        if (text == "true" || text == "1" || text == "yes") return true;
        if (text == "false" || text == "0" || text == "no") return false;
        break;
      case Type::array:
      case Type::object:
      case Type::any: {
        boost::system::error_code ec;
        json::value parsed = json::parse(text, ec);
        if (!ec) return parsed;
        if (option.type == Type::any) return text_value(option, text);
        break;
      }
    }
    wrong_type(option);
  }

  [[noreturn]] void wrong_type(const OptionsSchema::Option& option) const {
    fail("option '" + option.name + "' of model '" + std::string(model_id_) + "' must be " +
         std::string(type_name(option.type)));
  }

  void add_value(const OptionsSchema::Option& option, json::value value) {
    using Type = OptionsSchema::Type;
    if (non_finite_number_at(value)) {
      fail("option '" + option.name + "' of model '" + std::string(model_id_) +
           "' holds a number too large for JSON, eg: 1e999");
    }
    bool type_ok = true;
    switch (option.type) {
      case Type::string:
        type_ok = value.is_string();
        break;
      case Type::integer:
        type_ok = value.is_int64() || value.is_uint64() ||
                  (value.is_double() && std::trunc(value.as_double()) == value.as_double());
        break;
      case Type::number:
        type_ok = value.is_number();
        break;
      case Type::boolean:
        type_ok = value.is_bool();
        break;
      case Type::array:
        type_ok = value.is_array();
        break;
      case Type::object:
        type_ok = value.is_object();
        break;
      case Type::any:
        break;
    }
    if (!type_ok) wrong_type(option);
    if (value.is_number()) {
      const double number = value.to_number<double>();
      if ((option.minimum && number < *option.minimum) ||
          (option.maximum && number > *option.maximum)) {
        std::string range = option.minimum ? "at least " + number_text(*option.minimum) : "";
        if (option.maximum) {
          range += (range.empty() ? "" : " and ") + std::string("at most ") +
                   number_text(*option.maximum);
        }
        fail("option '" + option.name + "' of model '" + std::string(model_id_) + "' must be " +
             range);
      }
    }
    result_[option.name] = std::move(value);
  }

  const OptionsSchema& schema_;
  std::string_view model_id_;
  json::object result_;
};

}  // namespace

OptionsSchema OptionsSchema::parse(std::string_view schema_json) {
  OptionsSchema schema;
  if (schema_json.empty()) return schema;
  boost::system::error_code ec;
  const json::value parsed = json::parse(schema_json, ec);
  if (ec) throw std::invalid_argument("not valid JSON (" + ec.message() + ")");
  if (!parsed.is_object()) throw std::invalid_argument("not a JSON object");
  const json::object& root = parsed.as_object();
  if (const json::value* type = root.if_contains("type");
      type != nullptr && !(type->is_string() && type->as_string() == "object")) {
    throw std::invalid_argument("its \"type\" must be \"object\"");
  }
  const json::value* properties = root.if_contains("properties");
  if (properties == nullptr) return schema;
  if (!properties->is_object()) throw std::invalid_argument("\"properties\" must be an object");
  for (const auto& [name, spec_value] : properties->as_object()) {
    if (!spec_value.is_object()) {
      throw std::invalid_argument("property '" + std::string(name) + "' must be an object");
    }
    const json::object& spec = spec_value.as_object();
    Option option;
    option.name = name;
    if (const json::value* type = spec.if_contains("type")) {
      if (!type->is_string()) {
        throw std::invalid_argument("property '" + option.name + "' has a non-string type");
      }
      try {
        option.type = type_named(type->as_string());
      } catch (const std::invalid_argument& error) {
        throw std::invalid_argument("property '" + option.name + "': " + error.what());
      }
    }
    option.minimum = number_field(spec, "minimum");
    option.maximum = number_field(spec, "maximum");
    schema.options_.push_back(std::move(option));
  }
  return schema;
}

std::string OptionsSchema::build(std::string_view model_id, const OptionValues& defaults,
                                 const OptionValues& named, std::string_view options_json) const {
  if (defaults.empty() && named.empty() && options_json.empty()) return "{}";
  CallOptionsBuilder builder(*this, model_id);
  for (const auto& [name, text] : defaults) builder.add_text(name, text);
  for (const auto& [name, text] : named) builder.add_text(name, text);
  if (!options_json.empty()) builder.add_json(options_json);
  return builder.text();
}

}  // namespace llmrt
