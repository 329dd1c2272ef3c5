#include "examples/stream_aggregator/event_frame.h"

#include <cmath>
#include <string_view>

namespace troupe::aggregator {

ParseError EventFrameParser::Parse(std::string_view payload, EventView* event) {
  // ParseFromArray clears the message first, presence bits included.
  if (!message_.ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    return ParseError::kMalformedProtobuf;
  }
  if (!message_.has_key() || !message_.has_ts_ms() || !message_.has_value()) {
    return ParseError::kMissingField;
  }
  if (!std::isfinite(message_.value())) return ParseError::kBadValue;
  event->key = message_.key();
  event->ts_ms = message_.ts_ms();
  event->value = message_.value();
  return ParseError::kNone;
}

}  // namespace troupe::aggregator
