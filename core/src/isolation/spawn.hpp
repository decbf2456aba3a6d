// Starting an llmrt-plugin-host worker: posix_spawn with nothing inherited but its socket (fd 3),
// /dev/null as stdin and a pipe as stdout/stderr; an empty signal mask, its own process group, and
// an environment reduced to what plugins need. Spawns happen on one long-lived launcher thread,
// because PR_SET_PDEATHSIG (set by the worker) fires when the *thread* that made it ends.
//
// Threading: spawn_worker may be called from any thread. Errors: throws std::runtime_error with
// the reason (eg: "cannot start /x/llmrt-plugin-host: No such file or directory").
#ifndef LLMRT_ISOLATION_SPAWN_HPP
#define LLMRT_ISOLATION_SPAWN_HPP

#include <llmrt/isolation.hpp>

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace llmrt::isolation {

struct SpawnedWorker {
  pid_t pid = -1;      // also its process group id
  int socket_fd = -1;  // the host's end, non-blocking, close-on-exec
  int log_fd = -1;     // read end of the worker's stdout/stderr, close-on-exec
};

// `settings`: "NAME=value" entries set by the host for the worker (eg: LLMRT_WORKER_SPIN_US),
// replacing any of the same name in this process's environment.
SpawnedWorker spawn_worker(const std::filesystem::path& executable,
                           const std::vector<std::string>& pass_environment,
                           const std::vector<std::string>& settings = {});

// The environment a worker gets: `LLMRT_*`, a fixed list of harmless variables, and
// `pass_environment`, read from this process's environment. "NAME=value" strings.
std::vector<std::string> worker_environment(const std::vector<std::string>& pass_environment);

// llmrt-plugin-host beside the runtime library: <dir of libllmrt>/<LLMRT_WORKER_RELATIVE_PATH>.
std::filesystem::path default_worker_path();

// Kills the worker's process group and reaps it. Safe to call once per pid.
void kill_and_reap(pid_t pid) noexcept;

}  // namespace llmrt::isolation

#endif  // LLMRT_ISOLATION_SPAWN_HPP
