// The aggregator's output line (rule 7): one JSON object per firing.
//
//   {"key":"sensor-7","windowStartMs":1764288000000,
//    "windowEndMs":1764288010000,"count":3,"sum":64.5,"min":21,"max":22,
//    "mean":21.5,"p50":21.5,"p90":22,"p99":22,"revision":0}
//
// (one line, no spaces, no trailing newline). Every field is always present,
// in this order. windowStartMs, windowEndMs, count and revision are JSON
// integers; the others are JSON numbers in the shortest form that reads
// back as the same double (std::to_chars), so 21.0 prints as 21 and 1e21 as
// 1e+21. No NaN or infinity is ever printed: values are finite by
// construction, and a sum beyond the double range (kept in long double) is
// printed as the shortest long double that reads back exactly, e.g.
// 5.3930794045869471244e+308. The key is JSON-escaped: '"', '\\' and
// control characters are escaped, other UTF-8 is copied as is, and bytes
// that are not valid UTF-8 (not produced by the parser, but possible
// through the API) become \ufffd.
//
// Example:
//   std::string line = FormatResultLine(result);
//   out << line << '\n';

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULT_FORMAT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULT_FORMAT_H_

#include <string>
#include <string_view>

#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

// Appends the line for `result` to *out (no newline).
void AppendResultLine(const WindowResult& result, std::string* out);

// The line for `result` (no newline).
std::string FormatResultLine(const WindowResult& result);

// Appends `text` as a quoted, escaped JSON string.
void AppendJsonString(std::string_view text, std::string* out);

// Appends a double in its shortest round-trip form. Never prints NaN or
// infinity: NaN prints as 0 and infinities as +DBL_MAX or -DBL_MAX (the
// aggregator never passes them).
void AppendJsonNumber(double value, std::string* out);

// Appends a long double: as a double when it fits the double range exactly
// enough to be one, otherwise in its own shortest round-trip form.
void AppendJsonNumber(long double value, std::string* out);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULT_FORMAT_H_
