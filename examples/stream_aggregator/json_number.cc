#include "examples/stream_aggregator/json_number.h"

#include <locale.h>
#include <stdlib.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace troupe::aggregator::json_number {
namespace {

// The C locale, so that numeric strings read the same under any setlocale.
locale_t CLocale() {
  static const locale_t locale = newlocale(LC_ALL_MASK, "C", nullptr);
  return locale;
}

// protobuf's ascii_isspace, used by its safe_strtod for trailing blanks.
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// Reads a numeric string the way protobuf's JSON mapping reads a double
// string (C strtod, whole string, no blank at either end).
Numeric ReadNumericString(std::string_view text, double* out) {
  if (text.empty() || text.front() == ' ' || text.back() == ' ') {
    return Numeric::kNotNumeric;
  }
  const std::string copy(text);  // strtod needs a terminator
  char* end = nullptr;
  const double value = strtod_l(copy.c_str(), &end, CLocale());
  if (end == copy.c_str()) return Numeric::kNotNumeric;
  const char* const stop = copy.c_str() + copy.size();
  while (end < stop && IsAsciiSpace(*end)) ++end;
  if (end != stop) return Numeric::kNotNumeric;
  *out = value;
  return std::isfinite(value) ? Numeric::kFinite : Numeric::kNonFinite;
}

// Accumulates decimal digits into a magnitude; false on uint64 overflow.
bool AccumulateDigit(uint64_t* magnitude, char digit) {
  return !__builtin_mul_overflow(*magnitude, 10u, magnitude) &&
         !__builtin_add_overflow(*magnitude, static_cast<uint64_t>(digit - '0'),
                                 magnitude);
}

// Applies a sign to a magnitude; false if the result is outside int64.
bool SignedFromMagnitude(bool negative, uint64_t magnitude, int64_t* out) {
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (negative) {
    if (magnitude > kMaxPositive + 1) return false;
    *out = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                         : -static_cast<int64_t>(magnitude);
    return true;
  }
  if (magnitude > kMaxPositive) return false;
  *out = static_cast<int64_t>(magnitude);
  return true;
}

// An int64 string as protobuf reads one: [+-]?[0-9]+, nothing else.
bool ReadIntegerString(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return false;
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i]) || !AccumulateDigit(&magnitude, text[i]))
      return false;
  }
  return SignedFromMagnitude(negative, magnitude, out);
}

// Reads a JSON number's exact integer value; false if it is not an integer
// or does not fit in int64. Decided in decimal, so 1.0000000000000001 is
// fractional and 9.007199254740993e15 is exact.
bool IntegerFromNumber(const NumberToken& number, int64_t* out) {
  const int64_t int_digits = number.int_end - number.int_begin;
  const int64_t total = int_digits + (number.frac_end - number.frac_begin);
  auto digit_at = [&](int64_t j) {
    return j < int_digits ? number.int_begin[j]
                          : number.frac_begin[j - int_digits];
  };
  int64_t first = 0;
  while (first < total && digit_at(first) == '0') ++first;
  if (first == total) {  // zero, however it is written
    *out = 0;
    return true;
  }
  int64_t last = total - 1;
  while (digit_at(last) == '0') --last;
  // Digit j has weight 10^(units - j).
  const int64_t units = int_digits - 1 + number.exponent;
  if (last > units) return false;         // a nonzero fraction digit
  if (units - first >= 19) return false;  // at least 10^19 > INT64_MAX
  uint64_t magnitude = 0;
  for (int64_t j = first; j <= units; ++j) {
    if (!AccumulateDigit(&magnitude, j < total ? digit_at(j) : '0')) {
      return false;
    }
  }
  return SignedFromMagnitude(number.negative, magnitude, out);
}

// Reads a JSON number as a double; false if beyond the double range.
// Numbers too small for a double become a zero of the same sign.
bool DoubleFromNumber(const NumberToken& number, double* out) {
  double value = 0;
  const std::from_chars_result result =
      std::from_chars(number.begin, number.end, value);
  if (result.ec == std::errc()) {
    *out = value;
    return true;
  }
  // Out of range: strtod tells overflow (infinity) from underflow (zero).
  const std::string copy(number.begin, number.end);
  value = strtod_l(copy.c_str(), nullptr, CLocale());
  if (std::isinf(value)) return false;
  *out = value;
  return true;
}

}  // namespace troupe::aggregator::json_number
