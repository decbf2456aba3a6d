// Unguessable ids for requests and completions ("req_…", "chatcmpl-…"), drawn from OpenSSL's
// generator in blocks: one RAND_bytes call serves hundreds of ids, where one per id cost two
// getpid() system calls each (OpenSSL's fork check) on every request.
#ifndef LLMRT_SERVE_RANDOM_IDS_HPP
#define LLMRT_SERVE_RANDOM_IDS_HPP

#include <string>
#include <string_view>

namespace llmrt::serve {

// `prefix` then 24 lowercase hex digits (96 random bits). Thread-safe: each thread draws from its
// own block. Errors: Error(io) if OpenSSL's generator fails. The gateway never forks (workers are
// spawned with posix_spawn), so no two processes share a block.
std::string random_id(std::string_view prefix);

}  // namespace llmrt::serve

#endif  // LLMRT_SERVE_RANDOM_IDS_HPP
