// Runs every check in order, each isolated in a child process (or in-process with --in-process),
// skipping the ones whose prerequisites did not pass; prints the report as it goes.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "context.hpp"
#include "isolation.hpp"
#include "options.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

// Each check gets a seed of its own derived from the run's seed and its id, so that adding a check
// does not change the prompts of the others.
std::uint64_t check_seed(std::uint64_t run_seed, std::string_view id) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (const char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  std::uint64_t mixed = run_seed ^ hash;  // then SplitMix64's finalizer
  mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9ull;
  mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebull;
  return mixed ^ (mixed >> 31);
}

Isolated run_body(const Options& options, const std::function<std::string()>& body) {
  return options.in_process ? run_in_process(body) : run_isolated(body, options.timeout_ms);
}

Result run_check(const Check& check, const Options& options, std::uint64_t seed) {
  const auto body = [&]() -> std::string {
    Context ctx(options, seed);
    try {
      return encode(check.run(ctx));
    } catch (const PluginLoadError& error) {
      return encode(Result::failed(std::string("llmrt refused the plugin: ") + error.what()));
    } catch (const std::exception& error) {
      return encode(Result::failed(std::string("the check could not run: ") + error.what()));
    }
  };
  const Isolated isolated = run_body(options, body);
  if (isolated.end == Isolated::End::reported) return decode(isolated.payload);
  std::string reason = isolated.failure;
  if (!isolated.activity.empty()) reason += "\nwhile " + isolated.activity;
  if (!isolated.output.empty()) {
    reason += "\nwhat it printed last:";
    std::istringstream lines(isolated.output);
    for (std::string line; std::getline(lines, line);) reason += "\n  | " + printable(line, 300);
  }
  return Result::failed(reason);
}

// The ids of the models the host loads from the plugin, or nullopt when it cannot tell (the host
// refuses the plugin, or the plugin crashes: the checks will say so).
std::optional<std::vector<std::string>> probe_model_ids(const Options& options) {
  const Isolated probe = run_body(options, [&]() -> std::string {
    try {
      Context ctx(options, 0);
      std::string ids = "+";
      for (const auto& binding : load_plugin(options.plugin, ctx.host_identity()).models) {
        ids += binding->info().id + "\n";
      }
      return ids;
    } catch (const std::exception&) {
      return "-";
    }
  });
  if (probe.end != Isolated::End::reported || probe.payload.empty() || probe.payload[0] != '+') {
    return std::nullopt;
  }
  std::vector<std::string> ids;
  std::istringstream lines(probe.payload.substr(1));
  for (std::string line; std::getline(lines, line);) ids.push_back(line);
  return ids;
}

}  // namespace

int run_conformance(const Options& options) {
  const std::vector<Check>& checks = all_checks();
  if (options.junit && !std::ofstream(*options.junit, std::ios::app)) {
    std::cerr << "llmrt-conformance: error: cannot write the JUnit file " << options.junit->string()
              << "\n";
    return kExitUsage;
  }
  if (options.model) {
    if (const auto ids = probe_model_ids(options);
        ids && std::find(ids->begin(), ids->end(), *options.model) == ids->end()) {
      std::string offered;
      for (const std::string& id : *ids) offered += (offered.empty() ? "" : ", ") + id;
      std::cerr << "llmrt-conformance: error: " << options.plugin.string() << " has no model '"
                << *options.model << "' (it offers: " << (offered.empty() ? "none" : offered)
                << ")\n";
      return kExitUsage;
    }
  }

  std::cout << "llmrt-conformance " << LLMRT_CONFORMANCE_VERSION << " (plugin ABI "
            << version_string(LLMRT_ABI_VERSION) << ")\n"
            << "plugin: " << options.plugin.string() << "\n";
  if (options.model) std::cout << "model:  " << *options.model << "\n";
  std::cout << "seed:   " << options.seed << " (--seed " << options.seed
            << " repeats these prompts)\n"
            << (options.in_process ? "mode:   in-process (no isolation, no timeout)\n" : "") << "\n"
            << std::flush;

  std::vector<Record> records;
  const auto run_start = std::chrono::steady_clock::now();
  for (unsigned repetition = 1; repetition <= options.repeat; ++repetition) {
    const std::uint64_t seed = options.seed + (repetition - 1);
    if (options.repeat > 1) {
      std::cout << (repetition > 1 ? "\n" : "") << "run " << repetition << " of " << options.repeat
                << " (seed " << seed << ")\n";
    }
    std::map<std::string, Outcome, std::less<>> outcomes;
    for (const Check& check : checks) {
      Record record{&check, {}, repetition, seed, 0};
      const auto need = std::find_if(check.needs.begin(), check.needs.end(), [&](const auto& id) {
        return outcomes.at(id) != Outcome::pass;
      });
      const auto start = std::chrono::steady_clock::now();
      if (need != check.needs.end()) {
        record.result =
            Result::skipped("needs " + *need + ", which " +
                            (outcomes.at(*need) == Outcome::fail ? "failed" : "was skipped"));
      } else {
        record.result = run_check(check, options, check_seed(seed, check.id));
      }
      record.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      outcomes[check.id] = record.result.outcome;
      std::cout << format_record(record) << std::flush;
      records.push_back(std::move(record));
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();

  bool any_failed = std::any_of(records.begin(), records.end(), [](const Record& record) {
    return record.result.outcome == Outcome::fail;
  });
  if (options.junit) {
    try {
      write_junit(*options.junit, options, records, seconds);
    } catch (const std::exception& error) {
      std::cerr << "llmrt-conformance: error: " << error.what() << "\n";
      any_failed = true;
    }
  }
  std::cout << "\n" << format_summary(records) << "\n" << std::flush;
  return any_failed ? kExitSomeFailed : kExitAllPassed;
}

}  // namespace llmrt::conformance
