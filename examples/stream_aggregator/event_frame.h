// Reads one binary protobuf frame's payload (frame_decoder.h) as an
// aggregator event, with the rules of the NDJSON parser (rule 9) where the
// binary encoding has the same notion:
//
//   malformed_protobuf  the payload is not a serialized
//                       troupe.aggregator.Event (protobuf's parser rejects
//                       it: a bad tag, a truncated field, a key that is not
//                       valid UTF-8, ...)
//   missing_field       key, ts_ms or value absent. The fields are declared
//                       `optional` (proto/aggregator.proto), so a writer
//                       generated from that file sends every field it sets,
//                       zero values included. A field sent with the wrong
//                       wire type is an unknown field to protobuf, so that
//                       field is missing.
//   bad_value           value NaN or infinite
// First match wins, in that order. An empty key is a key, as in JSON. A
// timestamp whose windows do not fit in int64 is bad_timestamp, decided
// later by the InputPort as for every event. Unknown fields are ignored.
//
// Thread contract: an EventFrameParser is used by one thread at a time; the
// key of a returned EventView points into the parser and is valid until
// the next Parse.
//
// Example:
//   EventFrameParser parser;
//   EventView event;
//   if (parser.Parse(item.payload, &event) == ParseError::kNone) {
//     Use(event.key, event.ts_ms, event.value);
//   }

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_FRAME_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_FRAME_H_

#include <string_view>

#include "examples/stream_aggregator/event_parser.h"
#include "proto/aggregator.pb.h"

namespace troupe::aggregator {

class EventFrameParser {
 public:
  ParseError Parse(std::string_view payload, EventView* event);

 private:
  Event message_;  // reused, so a key's storage is reused too
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_FRAME_H_
