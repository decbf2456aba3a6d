// Every check, in report order, with their dependencies checked once.
#ifndef LLMRT_CONFORMANCE_REGISTRY_HPP
#define LLMRT_CONFORMANCE_REGISTRY_HPP

#include <vector>

#include "check.hpp"

namespace llmrt::conformance {

// All checks in the order they run and are reported: load, negotiate, descriptor, prompt, keys,
// behaviour, lifecycle. Every id is unique and every `needs` names an earlier check.
const std::vector<Check>& all_checks();

}  // namespace llmrt::conformance

#endif  // LLMRT_CONFORMANCE_REGISTRY_HPP
