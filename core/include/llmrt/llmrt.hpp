// Everything a host application needs.
#ifndef LLMRT_LLMRT_HPP
#define LLMRT_LLMRT_HPP

#include <llmrt/conversation.hpp>
#include <llmrt/error.hpp>
#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>
#include <llmrt/model.hpp>
#include <llmrt/response.hpp>
#include <llmrt/runtime.hpp>

#endif  // LLMRT_LLMRT_HPP
