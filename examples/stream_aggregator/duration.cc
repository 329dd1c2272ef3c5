#include "examples/stream_aggregator/duration.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace troupe::aggregator {
namespace {

// Abseil here has its own string_view type (not std::string_view).
absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Longest suffix first, so that "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {{"ms", 1},
                           {"s", 1000},
                           {"m", int64_t{60} * 1000},
                           {"h", int64_t{60} * 60 * 1000}};

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration \"", ToAbsl(text), "\": ", ToAbsl(why),
                   " (expected digits and a unit: ms, s, m or h, e.g. "
                   "\"500ms\", \"5s\", \"2m\", \"1h\")"));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  if (text.front() == '-') return Invalid(text, "it is negative");
  if (text.front() == '+') return Invalid(text, "it has a sign");
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0) return Invalid(text, "it does not start with a digit");
  const std::string_view suffix = text.substr(digits);
  if (suffix.empty()) return Invalid(text, "it has no unit");
  const Unit* unit = nullptr;
  for (const Unit& candidate : kUnits) {
    if (suffix == candidate.suffix) {
      unit = &candidate;
      break;
    }
  }
  if (unit == nullptr) {
    if (suffix.front() == '.') return Invalid(text, "it has a fraction");
    return Invalid(text, absl::StrCat("unknown unit \"", ToAbsl(suffix), "\""));
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t count = 0;
  for (size_t i = 0; i < digits; ++i) {
    const int64_t digit = text[i] - '0';
    if (count > (kMax - digit) / 10) return Invalid(text, "it is too large");
    count = count * 10 + digit;
  }
  if (count > kMax / unit->ms) return Invalid(text, "it is too large");
  return count * unit->ms;
}

std::string FormatDurationMs(int64_t ms) {
  for (int i = 3; i >= 1; --i) {
    if (ms != 0 && ms % kUnits[i].ms == 0) {
      return absl::StrCat(ms / kUnits[i].ms, ToAbsl(kUnits[i].suffix));
    }
  }
  return absl::StrCat(ms, "ms");
}

}  // namespace troupe::aggregator
