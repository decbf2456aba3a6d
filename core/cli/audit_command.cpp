// llmrt audit: summarises a gateway audit log (docs/audit.md) per tenant and per key fingerprint:
// llmrt audit: summarises a gateway audit log (docs/audit.md) per tenant and per key fingerprint:
// request counts by outcome, first and last time, and the tokens the calls used (input and output,
// summed over the lines that report them); and per model and key version, calls, errors and
// latency, to compare versions before promoting one (docs/keys.md#key-versions). It reads line by
// line; a malformed line (eg: one cut short by a crash) is reported with its number and skipped,
// and the summary goes on.
#include <llmrt/error.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "audit_log.hpp"
#include "cli_output.hpp"
#include "commands.hpp"

namespace llmrt::cli {
namespace {

namespace json = boost::json;

constexpr std::size_t kMalformedReported = 20;  // warnings on stderr; the JSON lists up to 1000
constexpr std::size_t kMalformedListed = 1000;

struct Tally {
  std::size_t requests = 0;
  std::map<std::string, std::size_t> outcomes;
  std::string first;
  std::string last;
  std::set<std::string> tenants;  // for fingerprints: the tenants it was seen with ("-": none)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::size_t calls_with_usage = 0;  // lines that report tokens (a failed call reports none)

  void add(const serve::AuditEvent& event) {
    ++requests;
    if (event.input_tokens || event.output_tokens) ++calls_with_usage;
    input_tokens += event.input_tokens.value_or(0);
    output_tokens += event.output_tokens.value_or(0);
    ++outcomes[event.outcome];
    if (first.empty() || event.time < first) first = event.time;
    if (last.empty() || event.time > last) last = event.time;
    tenants.insert(event.tenant.value_or("-"));
  }
};

// Calls of one version of a stored key: how many, how many failed, how long they took.
struct VersionTally {
  std::size_t calls = 0;
  std::size_t errors = 0;             // outcome other than "ok"
  std::vector<std::int64_t> latency;  // duration_ms of the events that have one

  void add(const serve::AuditEvent& event) {
    ++calls;
    if (event.outcome != "ok") ++errors;
    if (event.duration_ms) latency.push_back(*event.duration_ms);
  }
  // The `percent` percentile of the latencies (nearest rank), or -1 without any.
  std::int64_t percentile(double percent) const {
    if (latency.empty()) return -1;
    std::vector<std::int64_t> sorted = latency;
    std::sort(sorted.begin(), sorted.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
  }
};

struct Malformed {
  std::size_t line;
  std::string reason;
};

struct Summary {
  std::size_t lines = 0;
  std::size_t events = 0;
  std::vector<Malformed> malformed;
  std::size_t malformed_count = 0;
  std::map<std::optional<std::string>, Tally> tenants;
  std::map<std::optional<std::string>, Tally> fingerprints;
  std::map<std::pair<std::string, std::string>, VersionTally> versions;  // (model, key version)
};

Summary summarise(std::istream& in, const std::string& name) {
  Summary summary;
  for (std::string line; std::getline(in, line);) {
    ++summary.lines;
    std::string why;
    std::optional<serve::AuditEvent> event =
        line.empty() ? std::nullopt : serve::parse_audit_line(line, why);
    if (line.empty()) why = "empty line";
    if (!event) {
      ++summary.malformed_count;
      if (summary.malformed_count <= kMalformedReported) {
        print_warning(name + " line " + std::to_string(summary.lines) + ": malformed audit line (" +
                      why + "); skipped");
      }
      if (summary.malformed.size() < kMalformedListed) {
        summary.malformed.push_back({summary.lines, why});
      }
      continue;
    }
    ++summary.events;
    summary.tenants[event->tenant].add(*event);
    summary.fingerprints[event->key_fingerprint].add(*event);
    if (event->key_version) summary.versions[{event->model, *event->key_version}].add(*event);
  }
  if (in.bad()) throw Error(ErrorCode::io, "cannot read " + name);
  if (summary.malformed_count > kMalformedReported) {
    print_warning(name + ": " + std::to_string(summary.malformed_count - kMalformedReported) +
                  " more malformed lines not shown");
  }
  return summary;
}

std::string outcomes_text(const Tally& tally) {
  std::string text;
  for (const auto& [outcome, count] : tally.outcomes) {
    text += (text.empty() ? "" : " ") + outcome + "=" + std::to_string(count);
  }
  return text;
}

json::object tally_json(const Tally& tally) {
  json::object outcomes;
  for (const auto& [outcome, count] : tally.outcomes) outcomes[outcome] = count;
  return {{"requests", tally.requests},
          {"outcomes", std::move(outcomes)},
          {"calls_with_usage", tally.calls_with_usage},
          {"input_tokens", tally.input_tokens},
          {"output_tokens", tally.output_tokens},
          {"total_tokens", tally.input_tokens + tally.output_tokens},
          {"first", tally.first},
          {"last", tally.last}};
}

json::value optional_json(const std::optional<std::string>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

void print_summary_json(const Summary& summary, const std::string& name) {
  json::array tenants;
  for (const auto& [tenant, tally] : summary.tenants) {
    json::object entry{{"tenant", optional_json(tenant)}};
    for (auto& member : tally_json(tally)) entry.insert(member);
    tenants.push_back(std::move(entry));
  }
  json::array fingerprints;
  for (const auto& [fingerprint, tally] : summary.fingerprints) {
    json::array seen_tenants;
    for (const std::string& tenant : tally.tenants) {
      seen_tenants.push_back(tenant == "-" ? json::value(nullptr) : json::value(tenant));
    }
    json::object entry{{"key_fingerprint", optional_json(fingerprint)},
                       {"tenants", std::move(seen_tenants)}};
    for (auto& member : tally_json(tally)) entry.insert(member);
    fingerprints.push_back(std::move(entry));
  }
  json::array versions;
  for (const auto& [which, tally] : summary.versions) {
    const auto ms = [&](double percent) {
      const std::int64_t value = tally.percentile(percent);
      return value < 0 ? json::value(nullptr) : json::value(value);
    };
    versions.push_back(json::object{
        {"model", which.first},
        {"key_version", which.second},
        {"calls", tally.calls},
        {"errors", tally.errors},
        {"latency_ms", json::object{{"p50", ms(50)}, {"p95", ms(95)}, {"max", ms(100)}}}});
  }
  json::array malformed;
  for (const Malformed& line : summary.malformed) {
    malformed.push_back(json::object{{"line", line.line}, {"reason", line.reason}});
  }
  print_json(json::object{{"file", name},
                          {"lines", summary.lines},
                          {"events", summary.events},
                          {"malformed_lines", summary.malformed_count},
                          {"malformed", std::move(malformed)},
                          {"tenants", std::move(tenants)},
                          {"fingerprints", std::move(fingerprints)},
                          {"key_versions", std::move(versions)}});
}

void print_summary_text(const Summary& summary, const std::string& name) {
  write_stdout(name + ": " + std::to_string(summary.events) + " events, " +
               std::to_string(summary.malformed_count) + " malformed lines\n\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [tenant, tally] : summary.tenants) {
    rows.push_back({tenant.value_or("-"), std::to_string(tally.requests), outcomes_text(tally),
                    std::to_string(tally.input_tokens), std::to_string(tally.output_tokens),
                    tally.first, tally.last});
  }
  print_table({"TENANT", "REQUESTS", "OUTCOMES", "IN TOKENS", "OUT TOKENS", "FIRST", "LAST"}, rows);
  write_stdout("\n");
  rows.clear();
  for (const auto& [fingerprint, tally] : summary.fingerprints) {
    std::string tenants;
    for (const std::string& tenant : tally.tenants)
      tenants += (tenants.empty() ? "" : ",") + tenant;
    rows.push_back({fingerprint.value_or("-"), tenants, std::to_string(tally.requests),
                    outcomes_text(tally), std::to_string(tally.input_tokens),
                    std::to_string(tally.output_tokens), tally.first, tally.last});
  }
  print_table({"KEY FINGERPRINT", "TENANTS", "REQUESTS", "OUTCOMES", "IN TOKENS", "OUT TOKENS",
               "FIRST", "LAST"},
              rows);
  if (summary.versions.empty()) return;
  write_stdout("\n");
  rows.clear();
  for (const auto& [which, tally] : summary.versions) {
    const auto ms = [&](double percent) {
      const std::int64_t value = tally.percentile(percent);
      return value < 0 ? std::string("-") : std::to_string(value);
    };
    char error_rate[16];
    std::snprintf(error_rate, sizeof error_rate, "%.1f%%",
                  100.0 * static_cast<double>(tally.errors) / static_cast<double>(tally.calls));
    rows.push_back({which.first, which.second, std::to_string(tally.calls),
                    std::to_string(tally.errors), error_rate, ms(50), ms(95), ms(100)});
  }
  print_table(
      {"MODEL", "KEY VERSION", "CALLS", "ERRORS", "ERROR RATE", "P50 MS", "P95 MS", "MAX MS"},
      rows);
}

}  // namespace

int run_audit(const AuditArgs& args) {
  const bool from_stdin = args.file.empty() || args.file == "-";
  const std::string name = from_stdin ? std::string("<stdin>") : args.file;
  Summary summary;
  if (from_stdin) {
    summary = summarise(std::cin, name);
  } else {
    std::ifstream in(args.file, std::ios::binary);
    if (!in) throw Error(ErrorCode::io, "cannot open the audit log '" + args.file + "'");
    summary = summarise(in, name);
  }
  if (args.json) {
    print_summary_json(summary, name);
  } else {
    print_summary_text(summary, name);
  }
  return kExitOk;
}

}  // namespace llmrt::cli
