// Parses one NDJSON line into an aggregator event, or says why it is bad.
//
// The accepted language is protobuf's canonical JSON mapping of
// troupe.aggregator.Event (proto/aggregator.proto) restricted to strict
// RFC 8259 JSON, plus the aggregator's rule that every field is required:
//
//   {"key": "sensor-7", "tsMs": "1764288000123", "value": 21.5}
//
// * The line is one JSON object, optionally surrounded by JSON whitespace
//   (a trailing '\r' is fine); anything after the object is malformed.
// * "key" must be a string. Strings must be valid UTF-8; escapes are
//   decoded (\uD83D\uDE00 pairs included; a lone surrogate is malformed).
// * "tsMs" or "ts_ms" is an int64: a JSON number whose value is an integer
//   (1.7e12 and 1.0 are integers, decided exactly in decimal, not through a
//   double), or a string of an optional sign and decimal digits
//   ("1764288000123", "-5", "+5", "007"), as protobuf reads int64 strings.
// * "value" is a double: a JSON number, or a numeric string that protobuf
//   accepts ("21.5", "1e3", ".5", "0x10"). It must be finite: "NaN",
//   "Infinity", "-Infinity" and numbers beyond the double range are
//   rejected. Numbers too small for a double read as (signed) zero.
// * A field that appears twice takes its last value; a null value counts
//   as absent; unknown fields are validated and ignored.
//
// Reasons, first match wins (ParseErrorToken gives the token):
//   malformed_json  not one syntactically valid JSON object (trailing
//                   characters, bad escapes, invalid UTF-8, raw control
//                   characters in strings, whitespace other than JSON's
//                   four, a byte-order mark, an empty line)
//   wrong_type      a field of the wrong JSON type: key not a string; tsMs or
//                   value a boolean, array, object or non-numeric string
//   bad_timestamp   a numeric timestamp that is not an integer in int64
//                   (fractional, 1e3 as a string, out of range)
//   bad_value       value NaN, Infinity, -Infinity or out of double range
//   missing_field   key, timestamp or value absent or null
// Where several fields are bad, the first one in the line decides.
//
// Where this differs from protobuf's JsonStringToMessage (the reference;
// tests/examples/stream_aggregator/event_parser_protobuf_test.cc pins each):
// protobuf also accepts missing and null fields (defaults), NaN/Infinity,
// single-quoted strings, unquoted names, trailing commas, "1." numbers, raw
// control characters, form feeds as whitespace, and some invalid escapes
// inside ignored fields; it reads exponent-form timestamps through a double
// (9.2233720368547758e18 is rejected, 9.007199254740993e15 rounded) and
// clamps -9223372036854775809 to INT64_MIN; it rejects a top-level field
// named "" (we ignore it like any unknown field), and a field given twice
// with non-null values (the fields are proto3 `optional`, for presence in
// binary frames, and its JSON parser treats each as a one-field oneof; we
// keep the last value, as it does for plain fields). Nesting inside ignored
// fields is unlimited in both.
//
// Thread contract: an EventParser is used by one thread at a time; it owns a
// buffer for decoded keys, so a returned EventView::key may point into it
// (or into `line`) and is valid until the next Parse call or until `line`
// changes, whichever comes first.
//
// Example:
//   EventParser parser;
//   EventView event;
//   if (parser.Parse(R"({"key":"a","tsMs":5,"value":1})", &event) ==
//       ParseError::kNone) {
//     Use(event.key, event.ts_ms, event.value);
//   }

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_PARSER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_PARSER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/aggregator.pb.h"

namespace troupe::aggregator {

enum class ParseError : uint8_t {
  kNone = 0,
  kMalformedJson,
  kMissingField,
  kWrongType,
  kBadTimestamp,
  kBadValue,
  // Binary protobuf frames only (frame_decoder.h, event_frame.h); the JSON
  // parser never returns these.
  kMalformedProtobuf,
  kFrameTooLong,
  kMalformedFrameLength,
  kTruncatedFrame,
};
inline constexpr int kParseErrorCount = 10;  // including kNone

// "ok", "malformed_json", "missing_field", "wrong_type", "bad_timestamp",
// "bad_value", "malformed_protobuf", "frame_too_long",
// "malformed_frame_length", "truncated_frame".
std::string_view ParseErrorToken(ParseError error);

// A parsed event whose key may point into the parser or the line.
struct EventView {
  std::string_view key;
  int64_t ts_ms = 0;
  double value = 0;
};

class EventParser {
 public:
  EventParser() = default;
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // Parses `line` (without its '\n'). On kNone fills *event.
  ParseError Parse(std::string_view line, EventView* event);

  // Same rules, filling the protobuf message (the key is copied).
  ParseError Parse(std::string_view line, Event* event);

 private:
  std::string key_buffer_;      // decoded key when it had escapes
  std::string scratch_buffer_;  // decoded names and numeric strings
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_PARSER_H_
