// llmrt logs: what was asked and answered, read back from logs.db; and logs on|off|status|path.
//
// Output: on a terminal, Markdown-like sections (a `#` heading per response, `## Prompt`,
// `## Response`); piped, the same sections without the decoration so that they grep well;
// --json: one JSON array, newest first.
#include <llmrt/error.hpp>
#include <llmrt/runtime.hpp>

#include <unistd.h>

#include <cstdlib>

#include <boost/json.hpp>

#include "cli_output.hpp"
#include "commands.hpp"
#include "prompt_log.hpp"

namespace llmrt::cli {
namespace {

boost::json::value usage_json(const std::optional<Usage>& usage) {
  if (!usage) return nullptr;
  boost::json::object json;
  json["input_tokens"] = usage->input_tokens < 0 ? boost::json::value(nullptr)
                                                 : boost::json::value(usage->input_tokens);
  json["output_tokens"] = usage->output_tokens < 0 ? boost::json::value(nullptr)
                                                   : boost::json::value(usage->output_tokens);
  boost::system::error_code ec;
  if (!usage->details_json.empty()) {
    boost::json::value details = boost::json::parse(usage->details_json, ec);
    json["details"] = ec ? boost::json::value(usage->details_json) : std::move(details);
  }
  return json;
}

boost::json::object response_json(const log::LoggedResponse& r) {
  boost::json::object json;
  json["id"] = r.id;
  json["conversation_id"] = r.conversation_id;
  json["model"] = r.model;
  json["prompt"] = r.prompt;
  json["system"] = r.system;
  json["response"] = r.reply;
  boost::system::error_code ec;
  boost::json::value options = boost::json::parse(r.options_json, ec);
  json["options"] = ec ? boost::json::value(r.options_json) : std::move(options);
  json["usage"] = usage_json(r.usage);
  json["duration_ms"] = r.duration_ms;
  json["datetime_utc"] = r.datetime_utc;
  json["key_source"] = r.key_source;
  json["key_fingerprint"] = r.key_fingerprint;
  return json;
}

std::string usage_text(const std::optional<Usage>& usage) {
  if (!usage) return "not reported";
  const auto count = [](std::int64_t n) { return n < 0 ? std::string("?") : std::to_string(n); };
  return count(usage->input_tokens) + " input, " + count(usage->output_tokens) + " output";
}

void print_response(const log::LoggedResponse& r, bool terminal, bool show_usage) {
  const std::string heading = terminal ? "# " : "";
  const std::string section = terminal ? "## " : "";
  const std::string key =
      r.key_fingerprint.empty() ? r.key_source : r.key_source + " " + r.key_fingerprint;
  std::string out = heading + r.datetime_utc + "    conversation: " + r.conversation_id +
                    "    id: " + std::to_string(r.id) + "\n\n";
  out +=
      (terminal ? "Model: **" + r.model + "**" : "Model: " + r.model) + "    key: " + key + "\n\n";
  if (!r.system.empty()) out += section + "System\n\n" + r.system + "\n\n";
  out += section + "Prompt\n\n" + r.prompt + "\n\n";
  out += section + "Response\n\n" + r.reply + "\n\n";
  if (show_usage) out += section + "Token usage\n\n" + usage_text(r.usage) + "\n\n";
  write_stdout(out);
}

}  // namespace

int run_logs(const LogsArgs& args) {
  // Reading the log needs no runtime: no plugin is loaded, no key or credential file is read.
  const std::filesystem::path user_dir =
      default_user_dir([](const char* name) { return std::getenv(name); });
  const std::filesystem::path path = log::log_path(user_dir);
  try {
    switch (args.action) {
      case LogsAction::path:
        write_stdout(path.string() + "\n");
        return kExitOk;
      case LogsAction::on:
      case LogsAction::off:
        log::set_logging_enabled(user_dir, args.action == LogsAction::on);
        write_stdout(args.action == LogsAction::on ? "Logging is on\n" : "Logging is off\n");
        return kExitOk;
      case LogsAction::status: {
        std::string out = std::string("Logging is ") +
                          (log::logging_enabled(user_dir) ? "on" : "off") + " for " +
                          path.string() + "\n";
        std::error_code ignored;
        if (std::filesystem::exists(path, ignored)) {
          const log::PromptLog prompt_log(path);
          out += "Schema version: " + std::to_string(prompt_log.schema_version()) + "\n";
          out += "Responses: " + std::to_string(prompt_log.find({.limit = 0}).size()) + "\n";
        } else {
          out += "No log yet\n";
        }
        write_stdout(out);
        return kExitOk;
      }
      case LogsAction::list:
        break;
    }
    std::error_code ignored;
    if (!std::filesystem::exists(path, ignored)) {
      if (args.json) {
        print_json(boost::json::array());
      } else {
        write_stdout("No log yet: " + path.string() + "\n");
      }
      return kExitOk;
    }
    const log::PromptLog prompt_log(path);
    log::LogQuery query{
        .limit = args.count, .model = args.model, .text = args.query, .conversation_id = args.cid};
    if (args.continue_latest) {
      const std::optional<std::string> latest = prompt_log.latest_conversation_id();
      if (!latest) {  // an empty log: nothing to show
        if (args.json) print_json(boost::json::array());
        return kExitOk;
      }
      query.conversation_id = *latest;
    }
    std::vector<log::LoggedResponse> found = prompt_log.find(query);
    if (args.json) {
      boost::json::array array;
      for (const auto& r : found) array.push_back(response_json(r));
      print_json(array);
      return kExitOk;
    }
    // Oldest first on screen, like a conversation reads.
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    for (auto it = found.rbegin(); it != found.rend(); ++it)
      print_response(*it, terminal, args.usage);
    return kExitOk;
  } catch (const log::LogError& error) {
    throw Error(ErrorCode::io, error.what());
  }
}

}  // namespace llmrt::cli
