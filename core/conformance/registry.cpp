#include "registry.hpp"

#include <set>
#include <stdexcept>
#include <string>

namespace llmrt::conformance {
namespace {

std::vector<Check> collect() {
  std::vector<Check> checks;
  for (auto topic : {load_checks, negotiate_checks, descriptor_checks, prompt_checks, key_checks,
                     behaviour_checks, conversation_checks, lifecycle_checks}) {
    for (Check& check : topic()) checks.push_back(std::move(check));
  }
  std::set<std::string> earlier;
  for (const Check& check : checks) {
    for (const std::string& need : check.needs) {
      if (!earlier.contains(need)) {
        throw std::logic_error("check " + check.id + " needs " + need + ", which is not before it");
      }
    }
    if (!earlier.insert(check.id).second) throw std::logic_error("duplicate check " + check.id);
  }
  return checks;
}

}  // namespace

const std::vector<Check>& all_checks() {
  static const std::vector<Check> checks = collect();
  return checks;
}

}  // namespace llmrt::conformance
