// A model's options schema (a small subset of JSON Schema) and the checking of call options
// against it. The plugin receives only options that passed, already converted to their JSON types.
#ifndef LLMRT_OPTIONS_SCHEMA_HPP
#define LLMRT_OPTIONS_SCHEMA_HPP

#include <llmrt/model.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

class OptionsSchema {
 public:
  enum class Type { string, integer, number, boolean, array, object, any };

  struct Option {
    std::string name;
    Type type = Type::any;
    std::optional<double> minimum;
    std::optional<double> maximum;
  };

  // Reads `{"type":"object","properties":{"name":{"type":"number","minimum":0}, ...}}`.
  // An empty text means "no options". Throws std::invalid_argument naming what is wrong.
  static OptionsSchema parse(std::string_view schema_json);

  // The JSON object text for one call: `defaults`, then `named`, then `options_json`, later ones
  // overriding earlier ones. Throws Error(bad_request) for an unknown option or a value of the
  // wrong type or range, naming the option and the model.
  std::string build(std::string_view model_id, const OptionValues& defaults,
                    const OptionValues& named, std::string_view options_json) const;

  const std::vector<Option>& options() const { return options_; }

 private:
  std::vector<Option> options_;
};

}  // namespace llmrt

#endif  // LLMRT_OPTIONS_SCHEMA_HPP
