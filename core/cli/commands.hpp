// The `llmrt` commands. main.cpp parses the command line into these plain structs (it is the only
// file that knows CLI11) and calls one function; each returns the process exit code and reports
// its own errors by throwing llmrt::Error.
#ifndef LLMRT_CLI_COMMANDS_HPP
#define LLMRT_CLI_COMMANDS_HPP

#include <llmrt/model.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace llmrt::cli {

// llmrt prompt [TEXT] [-m MODEL] [--key KEY | --key-file FILE | --key-name NAME] [-o NAME VALUE]...
//              [-s SYSTEM] [-c | --cid ID] [--no-log] [--no-stream] [--async]
// llmrt chat [-m MODEL] [same key flags] [-o NAME VALUE]... [-s SYSTEM] [-c | --cid ID] [--no-log]
struct PromptArgs {
  std::optional<std::string> text;      // absent: read all of stdin
  std::string model;                    // empty: the default model
  std::optional<std::string> key;       // --key; wiped once it is in an llmrt::Key
  std::optional<std::string> key_file;  // --key-file
  std::string key_name;                 // --key-name
  OptionValues options;                 // -o NAME VALUE, in order
  bool no_stream = false;
  bool async = false;
  std::string system;            // -s/--system
  bool continue_latest = false;  // -c/--continue: the latest logged conversation
  std::string cid;               // --cid: the logged conversation with this id
  bool no_log = false;           // --no-log: do not write this prompt to logs.db
};
int run_prompt(PromptArgs& args);
// Reads prompts from stdin until `!exit` or end of input; `!multi` ... `!end` sends several lines
// as one prompt. The key flags are read once for the whole session.
int run_chat(PromptArgs& args);

// llmrt logs [-n N] [-m MODEL] [-q TEXT] [--cid ID | -c] [--json] [--usage]
// llmrt logs on|off|status|path
enum class LogsAction { list, on, off, status, path };
struct LogsArgs {
  LogsAction action = LogsAction::list;
  std::size_t count = 3;  // -n; 0: all
  std::string model;
  std::string query;
  std::string cid;
  bool continue_latest = false;  // -c: the latest conversation
  bool json = false;
  bool usage = false;
};
int run_logs(const LogsArgs& args);

// llmrt models [--json]
struct ModelsArgs {
  bool json = false;
};
int run_models(const ModelsArgs& args);

// llmrt models default [MODEL]
struct ModelsDefaultArgs {
  std::optional<std::string> model;  // absent: print the default
};
int run_models_default(const ModelsDefaultArgs& args);

// llmrt plugins [--json] [--refresh]
struct PluginsArgs {
  bool json = false;
  bool refresh = false;  // inspect every plugin file again and rewrite the plugin cache
};
int run_plugins(const PluginsArgs& args);

// llmrt plugins inspect FILE [--json]
struct PluginsInspectArgs {
  std::string file;
  bool json = false;
};
int run_plugins_inspect(const PluginsInspectArgs& args);

// llmrt keys set|get|list|path|remove
//            | new-master-key FILE | derive --tenant NAME [--ttl TTL] --master-key-file FILE
enum class KeysAction {
  set,
  get,
  list,
  path,
  remove,
  versions,
  promote,
  weight,
  new_master_key,
  derive
};
struct KeysArgs {
  KeysAction action = KeysAction::list;
  std::string name;                    // set, get, remove, versions, promote, weight
  std::string version;                 // set, remove (--version), promote, weight: a version label
  std::optional<std::int64_t> weight;  // set (--weight), weight
  std::string file;                    // new-master-key
  std::string tenant;                  // derive
  std::string ttl = "1h";              // derive
  std::string master_key_file;         // derive
};
int run_keys(const KeysArgs& args);

// llmrt audit [FILE] [--json]: summarises a gateway audit log (stdin when FILE is absent or "-").
struct AuditArgs {
  std::string file;  // empty or "-": standard input
  bool json = false;
};
int run_audit(const AuditArgs& args);

// llmrt serve [--host H] [--port P] [--require-client-key] [--max-concurrent N] ...
struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  bool require_client_key = false;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_header_count = 100;
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 1024;
  std::size_t max_concurrent = 32;
  std::size_t max_concurrent_per_model = 0;  // 0: three quarters of max_concurrent
  std::size_t max_waiting = 64;
  double max_wait_seconds = 10;
  std::size_t max_reply_bytes = 16 << 20;
  std::size_t stream_buffer_bytes = 64 * 1024;
  std::size_t threads = 2;     // I/O threads
  double timeout_seconds = 0;  // legacy --timeout: body and write timeouts when given
  double header_timeout_seconds = 10;
  double body_timeout_seconds = 30;
  double idle_timeout_seconds = 60;
  double write_timeout_seconds = 30;
  double request_timeout_seconds = 300;
  double shutdown_grace_seconds = 30;
  bool quiet = false;  // no access log
  // Session keys and audit (docs/serve.md#session-keys, docs/audit.md); empty: not given.
  std::string master_key_file;
  std::string previous_master_key_file;
  std::string tenants_file;
  std::string deny_list_file;
  bool allow_raw_client_keys = false;
  bool key_version_sticky = false;  // each tenant session keeps its first key version
  std::string audit_log;
  std::string audit_key_file;
};
int run_serve(const ServeArgs& args);

}  // namespace llmrt::cli

#endif  // LLMRT_CLI_COMMANDS_HPP
