// Numbers as the event parser reads them: JSON number tokens and the
// numeric strings of protobuf's JSON mapping. An internal part of
// event_parser.cc, split out to keep files small; see event_parser.h for
// the rules these implement.
//
// Example:
//   int64_t ts;
//   ReadIntegerString("-17", &ts);  // true, ts == -17
//   double v;
//   ReadNumericString("0x10", &v);  // Numeric::kFinite, v == 16

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_JSON_NUMBER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_JSON_NUMBER_H_

#include <cstdint>
#include <string_view>

namespace troupe::aggregator::json_number {

// What a numeric string holds.
enum class Numeric { kNotNumeric, kFinite, kNonFinite };

// Reads a numeric string the way protobuf's JSON mapping reads a double
// string: C strtod (in the C locale) over the whole string, trailing ASCII
// blanks allowed, no space at either end.
Numeric ReadNumericString(std::string_view text, double* out);

// An int64 string as protobuf reads one: [+-]?[0-9]+ within int64.
bool ReadIntegerString(std::string_view text, int64_t* out);

// Accumulates one decimal digit into a magnitude; false on uint64 overflow.
bool AccumulateDigit(uint64_t* magnitude, char digit);

// Applies a sign to a magnitude; false if the result is outside int64.
bool SignedFromMagnitude(bool negative, uint64_t magnitude, int64_t* out);

// A JSON number as written, split into its parts.
struct NumberToken {
  const char* begin = nullptr;
  const char* end = nullptr;
  const char* int_begin = nullptr;  // integer digits
  const char* int_end = nullptr;
  const char* frac_begin = nullptr;  // fraction digits (empty if none)
  const char* frac_end = nullptr;
  bool negative = false;
  bool has_fraction = false;
  bool has_exponent = false;
  int64_t exponent = 0;  // saturated at +-kExponentCap
};
inline constexpr int64_t kExponentCap = 1'000'000;

// Reads a JSON number's exact integer value; false if it is not an integer
// or does not fit in int64. Decided in decimal, so 1.0000000000000001 is
// fractional and 9.007199254740993e15 is exact.
bool IntegerFromNumber(const NumberToken& number, int64_t* out);

// Reads a JSON number as a double; false if beyond the double range.
// Numbers too small for a double become a zero of the same sign.
bool DoubleFromNumber(const NumberToken& number, double* out);

}  // namespace troupe::aggregator::json_number

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_JSON_NUMBER_H_
