// What every route of the gateway shares.
#ifndef LLMRT_SERVE_GATEWAY_CONTEXT_HPP
#define LLMRT_SERVE_GATEWAY_CONTEXT_HPP

#include <httplib.h>
#include <llmrt/runtime.hpp>

#include <map>
#include <set>
#include <string>

#include "access_log.hpp"
#include "admission.hpp"
#include "gateway.hpp"

namespace llmrt::serve {

struct GatewayContext {
  const Runtime& runtime;
  GatewayConfig config;
  Admission admission;
  AccessLog access_log;
  // Per model id, the option names its schema declares: decides what of a request is passed on.
  std::map<std::string, std::set<std::string>, std::less<>> model_options;
};

void handle_chat_completions(GatewayContext& context, const httplib::Request& request,
                             httplib::Response& response);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_GATEWAY_CONTEXT_HPP
