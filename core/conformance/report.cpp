#include "report.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

constexpr const char* kIndent = "      ";

std::string indent_lines(const std::string& text) {
  std::string indented;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) indented += kIndent + line + "\n";
  return indented;
}

// One line: newlines become "; ".
std::string one_line(const std::string& text) {
  std::string line;
  for (const char c : text) {
    if (c == '\n') {
      line += "; ";
    } else {
      line += c;
    }
  }
  return line;
}

std::string xml_escape(std::string_view raw) {
  const std::string text = printable(raw, raw.size() + 1);  // valid UTF-8, no control bytes
  std::string escaped;
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

// printable() escapes newlines too; keep them in element bodies.
std::string xml_escape_multiline(const std::string& text) {
  std::string escaped;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!escaped.empty()) escaped += '\n';
    escaped += xml_escape(line);
  }
  return escaped;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", seconds);
  return text;
}

}  // namespace

std::string format_record(const Record& record) {
  const Check& check = *record.check;
  switch (record.result.outcome) {
    case Outcome::pass:
      return "PASS  " + check.id + "  " + check.description + "\n";
    case Outcome::skip:
      return "SKIP  " + check.id + "  (" + one_line(record.result.message) + ")\n";
    case Outcome::fail:
      break;
  }
  std::string text = "FAIL  " + check.id + "  " + check.description + "\n";
  text += indent_lines(record.result.message.empty() ? "(no reason given)" : record.result.message);
  text += std::string(kIndent) + "what to do: " + check.hint + "\n";
  return text;
}

std::string format_summary(const std::vector<Record>& records) {
  std::size_t passed = 0;
  std::size_t failed = 0;
  std::size_t skipped = 0;
  for (const Record& record : records) {
    switch (record.result.outcome) {
      case Outcome::pass:
        ++passed;
        break;
      case Outcome::fail:
        ++failed;
        break;
      case Outcome::skip:
        ++skipped;
        break;
    }
  }
  return std::to_string(passed) + " passed, " + std::to_string(failed) + " failed, " +
         std::to_string(skipped) + " skipped";
}

void write_junit(const std::filesystem::path& file, const Options& options,
                 const std::vector<Record>& records, double seconds) {
  std::size_t failures = 0;
  std::size_t skipped = 0;
  for (const Record& record : records) {
    failures += record.result.outcome == Outcome::fail ? 1 : 0;
    skipped += record.result.outcome == Outcome::skip ? 1 : 0;
  }
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml << "<testsuites>\n";
  xml << "  <testsuite name=\"llmrt-conformance\" tests=\"" << records.size() << "\" failures=\""
      << failures << "\" errors=\"0\" skipped=\"" << skipped << "\" time=\""
      << seconds_text(seconds) << "\">\n";
  xml << "    <properties>\n";
  xml << "      <property name=\"plugin\" value=\"" << xml_escape(options.plugin.string())
      << "\"/>\n";
  xml << "      <property name=\"seed\" value=\"" << options.seed << "\"/>\n";
  xml << "      <property name=\"repeat\" value=\"" << options.repeat << "\"/>\n";
  if (options.model) {
    xml << "      <property name=\"model\" value=\"" << xml_escape(*options.model) << "\"/>\n";
  }
  xml << "    </properties>\n";
  for (const Record& record : records) {
    const Check& check = *record.check;
    const std::string topic = check.id.substr(0, check.id.find('.'));
    std::string name = check.id;
    if (options.repeat > 1) name += " #" + std::to_string(record.repetition);
    xml << "    <testcase classname=\"llmrt-conformance." << xml_escape(topic) << "\" name=\""
        << xml_escape(name) << "\" time=\"" << seconds_text(record.seconds) << "\"";
    switch (record.result.outcome) {
      case Outcome::pass:
        xml << "/>\n";
        break;
      case Outcome::skip:
        xml << ">\n      <skipped message=\"" << xml_escape(one_line(record.result.message))
            << "\"/>\n    </testcase>\n";
        break;
      case Outcome::fail: {
        const std::string& reason = record.result.message;
        xml << ">\n      <failure message=\"" << xml_escape(reason.substr(0, reason.find('\n')))
            << "\" type=\"" << xml_escape(check.id) << "\">"
            << xml_escape_multiline(check.description + "\n" + reason + "\nwhat to do: " +
                                    check.hint + "\nseed: " + std::to_string(record.seed))
            << "</failure>\n    </testcase>\n";
        break;
      }
    }
  }
  xml << "  </testsuite>\n</testsuites>\n";

  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << xml.str();
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace llmrt::conformance
