#include "cli_output.hpp"

#include <llmrt/error.hpp>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace llmrt::cli {

namespace {

// Line breaks and other control characters would split a message over several lines.
std::string one_line(std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void print_diagnostic(const char* kind, std::string_view message) {
  const std::string line = "llmrt: " + std::string(kind) + ": " + one_line(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void print_error(std::string_view message) {
  print_diagnostic("error", message);
}

void print_warning(std::string_view message) {
  print_diagnostic("warning", message);
}

std::string load_error_text(const LoadError& error) {
  const std::string prefix = "plugin '" + error.path + "': ";
  if (error.message.starts_with(prefix)) return error.message.substr(prefix.size());
  return error.message;
}

void print_load_errors(const std::vector<LoadError>& errors) {
  for (const LoadError& error : errors) {
    print_warning("skipped plugin " + error.path + ": " + load_error_text(error));
  }
}

int exit_code_for(const Error& error) {
  return error.code() == ErrorCode::usage ? kExitUsage : kExitFailure;
}

boost::json::object model_json(const ModelInfo& model) {
  boost::json::object json;
  json["id"] = model.id;
  json["display_name"] = model.display_name;
  json["plugin"] = model.plugin_name;
  json["plugin_version"] = model.plugin_version;
  json["plugin_path"] = model.plugin_path;
  json["abi"] = abi_version_string(model.abi_version);
  json["accepts_key"] = model.accepts_key;
  json["requires_key"] = model.requires_key;
  json["key_name"] = model.key_name;
  json["key_env_var"] = model.key_env_var;
  json["streaming"] = model.streaming;
  json["reentrant"] = model.reentrant;
  json["deterministic"] = model.deterministic;
  json["conversation"] = model.conversation;
  boost::system::error_code ec;
  boost::json::value schema = boost::json::parse(model.options_schema_json, ec);
  if (ec) {
    json["options_schema"] = model.options_schema_json;  // shown as the plugin gave it
  } else {
    json["options_schema"] = std::move(schema);
  }
  return json;
}

std::string capability_list(const ModelInfo& model) {
  std::string list;
  auto add = [&list](bool present, const char* name) {
    if (!present) return;
    if (!list.empty()) list += ',';
    list += name;
  };
  add(model.accepts_key, "accepts-key");
  add(model.requires_key, "requires-key");
  add(model.streaming, "streaming");
  add(model.reentrant, "reentrant");
  add(model.deterministic, "deterministic");
  add(model.conversation, "conversation");
  return list.empty() ? "-" : list;
}

void print_json(const boost::json::value& value) {
  write_stdout(boost::json::serialize(value));
  write_stdout("\n");
}

void write_stdout(std::string_view text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    throw Error(ErrorCode::io,
                std::string("cannot write to standard output: ") + std::strerror(errno));
  }
}

void flush_stdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw Error(ErrorCode::io,
                std::string("cannot write to standard output: ") + std::strerror(errno));
  }
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);

  auto print_row = [&widths](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    line += '\n';
    write_stdout(line);
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace llmrt::cli
