#include "credentials/rfc3339.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace llmrt::credentials {
namespace {

// Reads exactly `digits` decimal digits at `at`.
bool read_number(std::string_view text, std::size_t& at, int digits, int& value) {
  if (at + static_cast<std::size_t>(digits) > text.size()) return false;
  value = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[at++];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

bool expect(std::string_view text, std::size_t& at, std::string_view allowed) {
  if (at >= text.size() || allowed.find(text[at]) == std::string_view::npos) return false;
  ++at;
  return true;
}

}  // namespace

std::optional<Credential::Clock::time_point> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  std::size_t at = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_number(text, at, 4, year) || !expect(text, at, "-") ||
      !read_number(text, at, 2, month) || !expect(text, at, "-") ||
      !read_number(text, at, 2, day) || !expect(text, at, "Tt ") ||
      !read_number(text, at, 2, hour) || !expect(text, at, ":") ||
      !read_number(text, at, 2, minute) || !expect(text, at, ":") ||
      !read_number(text, at, 2, second)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(year),
                            std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;

  nanoseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::size_t first = at;
    long long value = 0;
    int digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (digits < 9) {
        value = value * 10 + (text[at] - '0');
        ++digits;
      }
      ++at;
    }
    if (at == first) return std::nullopt;
    for (int i = digits; i < 9; ++i) value *= 10;
    fraction = nanoseconds(value);
  }

  minutes offset{0};
  if (expect(text, at, "Zz")) {
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const bool negative = text[at++] == '-';
    int offset_hours = 0, offset_minutes = 0;
    if (!read_number(text, at, 2, offset_hours) || !expect(text, at, ":") ||
        !read_number(text, at, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset = hours(offset_hours) + minutes(offset_minutes);
    if (negative) offset = -offset;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;

  // In whole seconds first: every year 0000-9999 fits, with room. The clock itself (nanoseconds in
  // int64 here) only reaches 1677-2262, so an instant outside it is clamped to its ends: eg: the
  // common "never expires" value 9999-12-31T23:59:59Z becomes the latest time the clock can hold,
  // never a wrapped-around date in the past.
  using Clock = Credential::Clock;
  const sys_seconds instant =
      sys_days(date) + hours(hour) + minutes(minute) + seconds(second) - offset;
  const auto latest = floor<seconds>(Clock::time_point::max());
  const auto earliest = ceil<seconds>(Clock::time_point::min());
  if (instant > latest) return Clock::time_point::max();
  if (instant < earliest) return Clock::time_point::min();
  const Clock::time_point whole = time_point_cast<Clock::duration>(instant);
  const auto part = duration_cast<Clock::duration>(fraction);  // 0 <= part < 1 s
  if (part > Clock::time_point::max() - whole) return Clock::time_point::max();
  return whole + part;
}

std::string format_rfc3339(Credential::Clock::time_point when) {
  const std::time_t seconds = Credential::Clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace llmrt::credentials
