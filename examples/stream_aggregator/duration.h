// Durations with a unit, as the stream aggregator's flags spell them.
//
// ParseDurationMs turns "500ms", "5s", "2m" or "1h" into milliseconds. The
// text is a non-empty run of decimal digits followed by exactly one unit
// (ms, s, m, h); nothing else is accepted: no sign, no fraction, no spaces,
// no compound forms such as "1m30s", and no bare number (not even "0": write
// "0s"). A count whose milliseconds do not fit in int64_t is an error. Every
// error is an InvalidArgument status whose message quotes the text and says
// what was expected.
//
// Example:
//   absl::StatusOr<int64_t> gap = ParseDurationMs("30s");  // 30000
//   absl::StatusOr<int64_t> bad = ParseDurationMs("30");   // error: no unit
//
// FormatDurationMs is the inverse for messages: it picks the largest unit
// that divides the value exactly (FormatDurationMs(120000) == "2m").

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_DURATION_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace troupe::aggregator {

// Parses "<digits><unit>" with unit ms, s, m or h into milliseconds (>= 0).
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// Formats a non-negative millisecond count with the largest exact unit.
std::string FormatDurationMs(int64_t ms);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_DURATION_H_
