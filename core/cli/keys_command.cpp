// llmrt keys: the stored keys file. Needs no plugins: it works even when every plugin is broken.
// A key's value comes from stdin only (never argv, where other users could see it in `ps`), and
// `keys get` is the one place a key is printed, on purpose (with `keys derive`, which prints the
// session key it makes). `keys new-master-key` and `keys derive` are the gateway operator's
// session-key tools (docs/serve.md#session-keys).
#include "cli_output.hpp"
#include "commands.hpp"
#include "secret_input.hpp"

#include <llmrt/error.hpp>
#include <llmrt/key.hpp>
#include <llmrt/keys_file.hpp>
#include <llmrt/runtime.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "session_keys.hpp"

namespace llmrt::cli {

namespace {

KeysFile user_keys_file() {
  const EnvironmentLookup environment = [](const char* name) { return std::getenv(name); };
  return KeysFile(default_user_dir(environment) / "keys.json");
}

Error no_such_key(std::string_view name, const KeysFile& file) {
  return Error(ErrorCode::keys_file, "no key named " + quoted_key_name(name) + " in " +
                                         file.path().string() + " (see: llmrt keys list)");
}

int keys_set(const KeysFile& file, const KeysArgs& args) {
  const std::string& name = args.name;
  validate_key_name(name);
  if (looks_like_a_key(name)) {
    throw Error(ErrorCode::usage,
                "llmrt keys set NAME takes a name, eg: openai, and reads the key from standard "
                "input or asks for it; the name given looks like a key (" +
                    std::to_string(name.size()) + " characters, not shown)");
  }
  if (args.weight && args.version.empty()) {
    throw Error(ErrorCode::usage, "--weight needs --version LABEL: a weight belongs to a version");
  }
  if (!args.version.empty()) validate_key_version_label(args.version);
  const std::optional<std::uint32_t> weight =
      args.weight ? std::optional<std::uint32_t>(checked_key_version_weight(*args.weight))
                  : std::nullopt;
  SecretString value;
  if (stdin_is_terminal()) {
    read_key_from_terminal("Enter key: ", value);
  } else {
    read_key_from_stdin(value);
  }
  const Key key = value.take_key();
  if (args.version.empty()) {
    file.set(name, key);
  } else {
    file.set_version(name, args.version, key, weight);
  }
  return kExitOk;
}

// Labels, weights, shares of the calls, fingerprints and added times: never a key.
int keys_versions(const KeysFile& file, const std::string& name) {
  validate_key_name(name);
  const std::vector<StoredKeyVersion> versions = file.versions(name);
  if (versions.empty()) throw no_such_key(name, file);
  const std::vector<double> shares = key_version_shares(versions);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const StoredKeyVersion& version = versions[i];
    char share[16];
    std::snprintf(share, sizeof share, "%.4g%%", shares[i]);
    rows.push_back({version.label, version.weight ? std::to_string(*version.weight) : "-", share,
                    version.key.fingerprint(), version.added.empty() ? "-" : version.added});
  }
  print_table({"LABEL", "WEIGHT", "SHARE", "FINGERPRINT", "ADDED"}, rows);
  return kExitOk;
}

int keys_get(const KeysFile& file, const std::string& name) {
  validate_key_name(name);
  const std::optional<Key> key = file.get(name);
  if (!key) throw no_such_key(name, file);
  write_stdout(key->reveal());
  write_stdout("\n");
  flush_stdout();
  return kExitOk;
}

int keys_list(const KeysFile& file) {
  std::string text;
  for (const std::string& name : file.names()) text += name + "\n";
  write_stdout(text);
  return kExitOk;
}

int keys_remove(const KeysFile& file, const KeysArgs& args) {
  validate_key_name(args.name);
  if (!args.version.empty()) {
    if (!file.remove_version(args.name, args.version)) {
      throw Error(ErrorCode::keys_file, "no version '" + args.version + "' of key '" + args.name +
                                            "' in " + file.path().string() +
                                            " (see: llmrt keys versions " + args.name + ")");
    }
    return kExitOk;
  }
  if (!file.remove(args.name)) throw no_such_key(args.name, file);
  return kExitOk;
}

int keys_new_master_key(const std::string& path) {
  serve::create_secret_key_file(path, "master key");
  return kExitOk;
}

int keys_derive(const KeysArgs& args) {
  serve::validate_tenant_name(args.tenant);
  const std::int64_t ttl = serve::parse_ttl(args.ttl);
  const serve::SecretBytes master = serve::read_secret_key_file(args.master_key_file, "master key");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const Key key = serve::SessionKeys(master).issue(args.tenant, ttl, now);
  write_stdout(key.reveal());
  write_stdout("\n");
  flush_stdout();
  return kExitOk;
}

}  // namespace

int run_keys(const KeysArgs& args) {
  // The operator's session-key tools need no keys file (nor a HOME to find one in).
  if (args.action == KeysAction::new_master_key) return keys_new_master_key(args.file);
  if (args.action == KeysAction::derive) return keys_derive(args);
  const KeysFile file = user_keys_file();
  switch (args.action) {
    case KeysAction::set:
      return keys_set(file, args);
    case KeysAction::versions:
      return keys_versions(file, args.name);
    case KeysAction::promote:
      file.promote(args.name, args.version);
      return kExitOk;
    case KeysAction::weight:
      file.set_weight(args.name, args.version,
                      checked_key_version_weight(args.weight.value_or(-1)));
      return kExitOk;
    case KeysAction::get:
      return keys_get(file, args.name);
    case KeysAction::list:
      return keys_list(file);
    case KeysAction::path:
      write_stdout(file.path().string() + "\n");
      return kExitOk;
    case KeysAction::remove:
      return keys_remove(file, args);
    case KeysAction::new_master_key:
    case KeysAction::derive:
      break;  // handled above
  }
  return kExitUsage;
}

}  // namespace llmrt::cli
