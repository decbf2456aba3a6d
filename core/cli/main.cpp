// llmrt: the command-line tool. The only file that includes CLI11 (slow to compile): it parses the
// command line into the plain structs of commands.hpp, calls one command, and turns every error
// into one `llmrt: error: ...` line and an exit code (0 ok, 1 runtime error, 2 usage error).
#include "argument_redaction.hpp"
#include "cli_output.hpp"
#include "commands.hpp"
#include "isolation_options.hpp"
#include "secret_input.hpp"

#include <llmrt/error.hpp>
#include <llmrt/runtime.hpp>

#include <openssl/crypto.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace {

using namespace llmrt::cli;

std::string version_text() {
  return std::string("llmrt ") + LLMRT_CLI_VERSION + " (plugin ABI " +
         llmrt::abi_version_string(llmrt::host_abi_version()) + ")";
}

// CLI11 keeps its own copy of every option value; wipe the one that held --key.
void wipe_option_results(const CLI::Option* option) {
  if (option == nullptr) return;  // its command was not built
  // results() is a const view of the option's own (non-const) storage.
  for (std::string& result : const_cast<CLI::results_t&>(option->results())) wipe_string(result);
}

// Wipes the --key value in argv too, so that it is gone from /proc/<pid>/cmdline while the
// prompt runs.
void wipe_key_in_argv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return;
    if (std::strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
      OPENSSL_cleanse(argv[i + 1], std::strlen(argv[i + 1]));
      ++i;
    } else if (std::strncmp(argv[i], "--key=", 6) == 0) {
      OPENSSL_cleanse(argv[i] + 6, std::strlen(argv[i] + 6));
    }
  }
}

// The commands, as the first argument names them.
constexpr std::string_view kCommands[] = {"prompt",  "chat", "logs",  "models",
                                          "plugins", "keys", "audit", "serve"};

// Whether an option or subcommand was given; false for one that was not built.
bool given(const CLI::Option* option) {
  return option != nullptr && option->count() > 0;
}
bool given(const CLI::App* command) {
  return command != nullptr && command->parsed();
}

// --key, --key-file and --key-name (one at most) and -o, for prompt and chat; `scope` is what a
// key given here is for ("call", "session"). Returns the --key and --key-file options.
std::pair<CLI::Option*, CLI::Option*> add_key_and_model_options(CLI::App* command, PromptArgs& args,
                                                                std::string& key_value,
                                                                std::string& key_file,
                                                                const std::string& scope) {
  CLI::Option* key =
      command
          ->add_option("--key", key_value, "API key for this " + scope + " only (used literally)")
          ->type_name("KEY");
  CLI::Option* file =
      command
          ->add_option("--key-file", key_file, "Read the API key for this " + scope + " from FILE")
          ->type_name("FILE");
  CLI::Option* name = command
                          ->add_option("--key-name", args.key_name,
                                       "Use the stored key NAME (see: llmrt keys set NAME)")
                          ->type_name("NAME");
  key->excludes(file)->excludes(name);
  file->excludes(name);
  command->add_option("-o,--option", args.options, "Model option NAME VALUE (repeatable)")
      ->type_name("NAME VALUE")
      ->allow_extra_args(false);
  return {key, file};
}

// Runs `command`, turning every exception into one error line and an exit code.
int run_reporting_errors(const std::function<int()>& command) {
  try {
    const int code = command();
    flush_stdout();
    return code;
  } catch (const llmrt::Error& error) {
    print_error(error.what());
    return exit_code_for(error);
  } catch (const std::exception& error) {
    print_error(error.what());
    return kExitFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Send prompts to LLM models loaded from plugins, with per-call API keys.", "llmrt"};
  app.set_version_flag("--version", version_text(), "Print the version and exit");
  app.require_subcommand(1);
  // When the first argument names a command (`llmrt prompt ...`), only that command is built:
  // building all 30 commands and their ~90 options took a tenth of an echo prompt. Anything else
  // first (a global option, --help, a typo) builds them all, so help and errors are unchanged.
  const std::string_view first = argc > 1 ? argv[1] : "";
  const bool first_is_command =
      std::find(std::begin(kCommands), std::end(kCommands), first) != std::end(kCommands);
  const auto builds = [&](std::string_view command) {
    return !first_is_command || first == command;
  };

  // Plugin isolation, for every command (docs/isolation.md); accepted after the command name too.
  IsolationArgs isolation_args;
  app.fallthrough();
  app.add_option("--isolation", isolation_args.mode,
                 "Run plugins in_process or in worker processes (default: in_process; "
                 "serve: process)")
      ->type_name("MODE");
  app.add_option("--plugin-isolation", isolation_args.per_plugin,
                 "NAME=MODE for the plugin file NAME.so only (repeatable)")
      ->type_name("NAME=MODE");
  app.add_option(
         "--workers-per-plugin", isolation_args.workers_per_plugin,
         "Worker processes per plugin file (default: the number of cores; llmrt serve: 8 per "
         "core, at most --max-concurrent)")
      ->type_name("N");
  app.add_option(
         "--call-timeout", isolation_args.call_timeout_seconds,
         "A call in a worker longer than SECONDS fails with a timeout (default: none; serve: "
         "its --request-timeout)")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-output-bytes", isolation_args.max_output_bytes,
                 "A reply from a worker longer than N bytes fails (default: no limit)")
      ->type_name("N");
  app.add_option("--plugin-memory-limit", isolation_args.plugin_memory_limit,
                 "Address-space limit of each worker process in bytes (default: none)")
      ->type_name("BYTES");

  // llmrt prompt
  PromptArgs prompt_args;
  std::string key_value;
  std::string key_file;
  // Conversations and the log, shared by prompt and chat.
  const auto add_conversation_flags = [](CLI::App* command, PromptArgs& args) {
    command->add_option("-s,--system", args.system, "System prompt")->type_name("SYSTEM");
    CLI::Option* latest = command->add_flag("-c,--continue", args.continue_latest,
                                            "Continue the latest logged conversation");
    command->add_option("--cid", args.cid, "Continue the logged conversation with this id")
        ->type_name("ID")
        ->excludes(latest);
    command->add_flag("--no-log", args.no_log, "Do not write to the log (logs.db)");
  };
  CLI::App* prompt = nullptr;
  CLI::Option* key_option = nullptr;
  CLI::Option* key_file_option = nullptr;
  if (builds("prompt")) {
    prompt = app.add_subcommand("prompt", "Send a prompt to a model and print the reply");
    prompt->add_option("text", prompt_args.text, "The prompt (default: all of standard input)")
        ->type_name("TEXT");
    prompt->add_option("-m,--model", prompt_args.model, "Model id (default: llmrt models default)")
        ->type_name("MODEL");
    std::tie(key_option, key_file_option) =
        add_key_and_model_options(prompt, prompt_args, key_value, key_file, "call");
    prompt->add_flag("--no-stream", prompt_args.no_stream,
                     "Print the reply only once it is complete");
    prompt->add_flag("--async", prompt_args.async, "Run the prompt on the runtime's thread pool");
    add_conversation_flags(prompt, prompt_args);
  }

  // llmrt chat
  PromptArgs chat_args;
  CLI::App* chat = nullptr;
  CLI::Option* chat_key_option = nullptr;
  CLI::Option* chat_key_file_option = nullptr;
  if (builds("chat")) {
    chat = app.add_subcommand("chat", "Hold an interactive conversation with a model");
    chat->add_option("-m,--model", chat_args.model, "Model id (default: llmrt models default)")
        ->type_name("MODEL");
    std::tie(chat_key_option, chat_key_file_option) =
        add_key_and_model_options(chat, chat_args, key_value, key_file, "session");
    add_conversation_flags(chat, chat_args);
  }

  // llmrt logs [on|off|status|path]
  LogsArgs logs_args;
  CLI::App* logs = nullptr;
  CLI::App* logs_on = nullptr;
  CLI::App* logs_off = nullptr;
  CLI::App* logs_status = nullptr;
  CLI::App* logs_path = nullptr;
  if (builds("logs")) {
    logs = app.add_subcommand("logs", "Show logged prompts and replies (logs.db)");
    logs->require_subcommand(0, 1);
    logs->add_option("-n,--count", logs_args.count, "How many responses, newest (0: all)")
        ->type_name("N");
    logs->add_option("-m,--model", logs_args.model, "Only this model")->type_name("MODEL");
    logs->add_option("-q,--query", logs_args.query, "Full-text search in prompts and replies")
        ->type_name("TEXT");
    CLI::Option* logs_latest =
        logs->add_flag("-c,--continue", logs_args.continue_latest, "The latest conversation");
    logs->add_option("--cid", logs_args.cid, "The conversation with this id")
        ->type_name("ID")
        ->excludes(logs_latest);
    logs->add_flag("--json", logs_args.json, "Print a JSON array");
    logs->add_flag("-u,--usage", logs_args.usage, "Show token usage");
    logs_on = logs->add_subcommand("on", "Log prompts (the default)");
    logs_off = logs->add_subcommand("off", "Stop logging prompts");
    logs_status = logs->add_subcommand("status", "Say whether logging is on, and where");
    logs_path = logs->add_subcommand("path", "Print the path of logs.db");
  }

  // llmrt models [default [MODEL]]
  ModelsArgs models_args;
  ModelsDefaultArgs models_default_args;
  CLI::App* models = nullptr;
  CLI::App* models_default = nullptr;
  if (builds("models")) {
    models = app.add_subcommand("models", "List the available models");
    models->require_subcommand(0, 1);
    models->add_flag("--json", models_args.json, "Print a JSON array");
    models_default =
        models->add_subcommand("default", "Print the default model, or set it to MODEL");
    models_default->add_option("model", models_default_args.model, "The new default model id");
  }

  // llmrt plugins [inspect FILE]
  PluginsArgs plugins_args;
  PluginsInspectArgs inspect_args;
  CLI::App* plugins = nullptr;
  CLI::App* inspect = nullptr;
  if (builds("plugins")) {
    plugins = app.add_subcommand("plugins", "List loaded plugins and load errors");
    plugins->require_subcommand(0, 1);
    plugins->add_flag("--json", plugins_args.json, "Print JSON");
    plugins->add_flag("--refresh", plugins_args.refresh,
                      "Inspect every plugin file again and rebuild the plugin cache");
    inspect = plugins->add_subcommand("inspect", "Show how the loader sees one plugin file");
    inspect->add_option("file", inspect_args.file, "The plugin file")->required();
    inspect->add_flag("--json", inspect_args.json, "Print JSON");
  }

  // llmrt keys set|get|list|path|remove|new-master-key|derive
  KeysArgs keys_args;
  CLI::App* keys = nullptr;
  CLI::App* keys_set = nullptr;
  CLI::App* keys_get = nullptr;
  CLI::App* keys_list = nullptr;
  CLI::App* keys_path = nullptr;
  CLI::App* keys_remove = nullptr;
  CLI::App* keys_versions = nullptr;
  CLI::App* keys_promote = nullptr;
  CLI::App* keys_weight = nullptr;
  CLI::App* keys_new_master_key = nullptr;
  CLI::App* keys_derive = nullptr;
  if (builds("keys")) {
    keys = app.add_subcommand("keys", "Manage stored API keys");
    keys->require_subcommand(1);
    keys_set = keys->add_subcommand("set", "Store a key read from standard input under NAME");
    keys_set->add_option("name", keys_args.name, "Key name, eg: openai")->required();
    keys_set->add_option("--version", keys_args.version,
                         "Store it as this version, eg: pending (see: docs/keys.md#key-versions)");
    keys_set->add_option("--weight", keys_args.weight,
                         "With --version: its weight in the choice of version per call, eg: 10");
    keys_get = keys->add_subcommand("get", "Print the key stored under NAME");
    keys_get->add_option("name", keys_args.name, "Key name")->required();
    keys_list = keys->add_subcommand("list", "List the names of the stored keys");
    keys_path = keys->add_subcommand("path", "Print the path of the keys file");
    keys_remove = keys->add_subcommand("remove", "Remove the key stored under NAME");
    keys_remove->add_option("name", keys_args.name, "Key name")->required();
    keys_remove->add_option("--version", keys_args.version,
                            "Remove only this version, eg: previous");
    keys_versions = keys->add_subcommand(
        "versions", "List the versions of NAME: labels, weights, fingerprints (never the key)");
    keys_versions->add_option("name", keys_args.name, "Key name")->required();
    keys_promote = keys->add_subcommand(
        "promote", "Make version LABEL of NAME current; the old current becomes previous");
    keys_promote->add_option("name", keys_args.name, "Key name")->required();
    keys_promote->add_option("label", keys_args.version, "Version label, eg: pending")->required();
    keys_weight =
        keys->add_subcommand("weight", "Set the weight of version LABEL of NAME (0: no calls)");
    keys_weight->add_option("name", keys_args.name, "Key name")->required();
    keys_weight->add_option("label", keys_args.version, "Version label, eg: pending")->required();
    keys_weight->add_option("weight", keys_args.weight, "Weight, 0 to 1000000, eg: 50")->required();
    keys_new_master_key = keys->add_subcommand(
        "new-master-key",
        "Create FILE (mode 0600) holding a new random master key for session keys");
    keys_new_master_key->add_option("file", keys_args.file, "The file to create (never replaced)")
        ->required()
        ->type_name("FILE");
    keys_derive =
        keys->add_subcommand("derive", "Print a new session key for a tenant of `llmrt serve`");
    keys_derive->add_option("--tenant", keys_args.tenant, "The tenant, 1-64 of A-Z a-z 0-9 _ -")
        ->required()
        ->type_name("NAME");
    keys_derive
        ->add_option("--ttl", keys_args.ttl, "How long the key is valid: eg 30m, 12h, 7d (max 90d)")
        ->type_name("TTL")
        ->capture_default_str();
    keys_derive
        ->add_option("--master-key-file", keys_args.master_key_file,
                     "The gateway's master key (see: llmrt keys new-master-key)")
        ->required()
        ->type_name("FILE");
  }

  // llmrt audit [FILE] [--json]
  AuditArgs audit_args;
  CLI::App* audit = nullptr;
  if (builds("audit")) {
    audit = app.add_subcommand("audit", "Summarise a gateway audit log per tenant and key");
    audit->add_option("file", audit_args.file, "The audit log (default: standard input)")
        ->type_name("FILE");
    audit->add_flag("--json", audit_args.json, "Print JSON");
  }

  // llmrt serve
  ServeArgs serve_args;
  CLI::App* serve = nullptr;
  if (builds("serve")) {
    serve = app.add_subcommand("serve", "Run the OpenAI-compatible HTTP gateway");
    serve->add_option("--host", serve_args.host, "Address to listen on (default: 127.0.0.1)");
    serve->add_option("--port", serve_args.port, "Port to listen on; 0 picks a free one")
        ->check(CLI::Range(0, 65535));
    serve->add_flag("--require-client-key", serve_args.require_client_key,
                    "Refuse requests without 'Authorization: Bearer KEY' (401)");
    serve->add_option("--max-body-bytes", serve_args.max_body_bytes,
                      "Larger request bodies, chunked too, get 413 (default: 1 MiB)");
    serve->add_option("--max-header-bytes", serve_args.max_header_bytes,
                      "Larger request lines and headers get 431 (default: 16384)");
    serve->add_option("--max-header-count", serve_args.max_header_count,
                      "More header fields get 431 (default: 100)");
    serve
        ->add_option("--max-connections", serve_args.max_connections,
                     "Open client connections; more are refused (default: 10000)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--max-connections-per-ip", serve_args.max_connections_per_ip,
                     "Open connections from one client address (default: 1024)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--max-concurrent", serve_args.max_concurrent,
                     "Model calls running at once (default: 32)")
        ->check(CLI::PositiveNumber);
    serve->add_option(
        "--max-concurrent-per-model", serve_args.max_concurrent_per_model,
        "Model calls running at once on one model (default: 3/4 of --max-concurrent)");
    serve->add_option("--max-waiting", serve_args.max_waiting,
                      "Calls waiting for a slot before 503 (default: 64)");
    serve
        ->add_option("--max-wait", serve_args.max_wait_seconds,
                     "Seconds a call waits for a slot before 503 (default: 10)")
        ->check(CLI::NonNegativeNumber);
    serve
        ->add_option("--max-reply-bytes", serve_args.max_reply_bytes,
                     "Larger non-streamed replies end with 502 reply_too_large (default: 16 MiB)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--stream-buffer-bytes", serve_args.stream_buffer_bytes,
                     "Per connection; a stream's model waits while its client lags by more "
                     "(default: 65536)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--threads", serve_args.threads,
                     "I/O threads serving every connection (default: 2)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--timeout", serve_args.timeout_seconds,
                     "Shorthand: sets --body-timeout and --write-timeout")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--header-timeout", serve_args.header_timeout_seconds,
                     "Seconds for a request's whole headers, else 408 (default: 10)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--body-timeout", serve_args.body_timeout_seconds,
                     "Seconds for a request's whole body, else 408 (default: 30)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--idle-timeout", serve_args.idle_timeout_seconds,
                     "Seconds a keep-alive connection may sit idle (default: 60)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--write-timeout", serve_args.write_timeout_seconds,
                     "Seconds for each write to a client, else it is dropped (default: 30)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option("--request-timeout", serve_args.request_timeout_seconds,
                     "Seconds a model call may run, else it is stopped with 504 (default: 300)")
        ->check(CLI::PositiveNumber);
    serve
        ->add_option(
            "--shutdown-grace", serve_args.shutdown_grace_seconds,
            "After SIGTERM, seconds for calls in flight before exiting anyway (default: 30)")
        ->check(CLI::NonNegativeNumber);
    serve->add_flag("--quiet", serve_args.quiet, "Do not write the access log");
    CLI::Option* master_key_option =
        serve
            ->add_option("--master-key-file", serve_args.master_key_file,
                         "Accept session keys (llmrt-sk1...) made with this master key")
            ->type_name("FILE");
    CLI::Option* tenants_option =
        serve
            ->add_option("--tenants-file", serve_args.tenants_file,
                         "Which stored key serves each tenant's calls (JSON)")
            ->type_name("FILE");
    master_key_option->needs(tenants_option);
    tenants_option->needs(master_key_option);
    serve
        ->add_option("--previous-master-key-file", serve_args.previous_master_key_file,
                     "Also accept session keys of this older master key (rotation overlap)")
        ->type_name("FILE")
        ->needs(master_key_option);
    serve
        ->add_option("--deny-list-file", serve_args.deny_list_file,
                     "Revoked key ids and tenant:NAME lines; re-read when it changes")
        ->type_name("FILE")
        ->needs(master_key_option);
    serve
        ->add_flag("--allow-raw-client-keys", serve_args.allow_raw_client_keys,
                   "With session keys on, still accept other bearer keys as per-call keys")
        ->needs(master_key_option);
    serve
        ->add_flag("--key-version-sticky", serve_args.key_version_sticky,
                   "Each tenant session keeps the version of a stored key its first call got")
        ->needs(master_key_option);
    serve
        ->add_option("--audit-log", serve_args.audit_log,
                     "Append one JSON line per chat request to FILE (created 0600)")
        ->type_name("FILE");
    serve
        ->add_option("--audit-key-file", serve_args.audit_key_file,
                     "Key for audit fingerprints (default: from the master key, else random)")
        ->type_name("FILE");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    wipe_option_results(key_option);
    wipe_option_results(chat_key_option);
    wipe_string(key_value);
    // `llm keys set NAME --value KEY` and `keys set NAME KEY` put the key where it is not taken:
    // say where it goes, and never repeat what was given.
    if (keys_set != nullptr && keys_set->parsed() &&
        dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
      print_error(
          "llmrt keys set NAME takes no key argument; it reads the key from standard input or "
          "asks for it (eg: llmrt keys set NAME < key.txt), which keeps the key out of shell "
          "history and `ps`. The extra arguments are not shown.");
      return kExitUsage;
    }
    print_error(without_possible_keys(error.what(), argc, argv) + " (see: llmrt --help)");
    return kExitUsage;
  }

  if (given(key_option)) {
    prompt_args.key.emplace(key_value);  // copied, not moved: a move leaves short keys behind
    wipe_string(key_value);
    wipe_option_results(key_option);
    wipe_key_in_argv(argc, argv);
  }
  if (given(key_file_option)) prompt_args.key_file = key_file;
  if (given(chat_key_option)) {
    chat_args.key.emplace(key_value);
    wipe_string(key_value);
    wipe_option_results(chat_key_option);
    wipe_key_in_argv(argc, argv);
  }
  if (given(chat_key_file_option)) chat_args.key_file = key_file;

  set_isolation_args(isolation_args);
  if (given(prompt)) return run_reporting_errors([&] { return run_prompt(prompt_args); });
  if (given(chat)) return run_reporting_errors([&] { return run_chat(chat_args); });
  if (given(logs)) {
    if (given(logs_on)) logs_args.action = LogsAction::on;
    if (given(logs_off)) logs_args.action = LogsAction::off;
    if (given(logs_status)) logs_args.action = LogsAction::status;
    if (given(logs_path)) logs_args.action = LogsAction::path;
    return run_reporting_errors([&] { return run_logs(logs_args); });
  }
  if (given(models)) {
    if (given(models_default)) {
      return run_reporting_errors([&] { return run_models_default(models_default_args); });
    }
    return run_reporting_errors([&] { return run_models(models_args); });
  }
  if (given(plugins)) {
    if (given(inspect)) {
      return run_reporting_errors([&] { return run_plugins_inspect(inspect_args); });
    }
    return run_reporting_errors([&] { return run_plugins(plugins_args); });
  }
  if (given(serve)) return run_reporting_errors([&] { return run_serve(serve_args); });
  if (given(audit)) return run_reporting_errors([&] { return run_audit(audit_args); });
  if (given(keys)) {
    if (given(keys_set)) keys_args.action = KeysAction::set;
    if (given(keys_get)) keys_args.action = KeysAction::get;
    if (given(keys_list)) keys_args.action = KeysAction::list;
    if (given(keys_path)) keys_args.action = KeysAction::path;
    if (given(keys_remove)) keys_args.action = KeysAction::remove;
    if (given(keys_versions)) keys_args.action = KeysAction::versions;
    if (given(keys_promote)) keys_args.action = KeysAction::promote;
    if (given(keys_weight)) keys_args.action = KeysAction::weight;
    if (given(keys_new_master_key)) keys_args.action = KeysAction::new_master_key;
    if (given(keys_derive)) keys_args.action = KeysAction::derive;
    return run_reporting_errors([&] { return run_keys(keys_args); });
  }
  print_error("no command given (see: llmrt --help)");
  return kExitUsage;
}
