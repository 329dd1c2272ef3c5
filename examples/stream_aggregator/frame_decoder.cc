#include "examples/stream_aggregator/frame_decoder.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

namespace troupe::aggregator {

Framing DetectFraming(std::string_view head) {
  const size_t n = std::min(head.size(), kProtobufPreamble.size());
  if (head.substr(0, n) != kProtobufPreamble.substr(0, n)) {
    return Framing::kNdjson;
  }
  return n == kProtobufPreamble.size() ? Framing::kProtobuf
                                       : Framing::kUndecided;
}

bool FrameDecoder::mid_frame() const {
  return (state_ == State::kLength && varint_bytes_ > 0) ||
         state_ == State::kPayload;
}

FrameItem FrameDecoder::Next(std::string_view* bytes) {
  // In kLength, buffer_ holds at most the payload returned by the previous
  // call, whose validity has just ended.
  if (state_ == State::kLength) buffer_.clear();
  while (!bytes->empty()) {
    switch (state_) {
      case State::kBroken:
        bytes->remove_prefix(bytes->size());
        return FrameItem{};
      case State::kSkip: {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(remaining_, bytes->size()));
        bytes->remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kLength;
        break;
      }
      case State::kLength: {
        const auto byte = static_cast<uint8_t>(bytes->front());
        bytes->remove_prefix(1);
        if (varint_bytes_ == kMaxVarintBytes - 1) {
          if ((byte & 0x80) != 0) {  // an 11th byte would follow
            state_ = State::kBroken;
            bytes->remove_prefix(bytes->size());
            return FrameItem{.kind = FrameItem::kMalformedLength};
          }
          // The 10th byte carries bit 63 only.
          if (byte > 1) overflow_ = true;
        }
        length_ |= static_cast<uint64_t>(byte & 0x7f) << (7 * varint_bytes_);
        ++varint_bytes_;
        if ((byte & 0x80) != 0) break;  // more length bytes follow
        const FrameItem item = StartFrame();
        if (item.kind != FrameItem::kNeedMore) return item;
        break;  // a payload to read
      }
      case State::kPayload: {
        if (buffer_.empty() && bytes->size() >= remaining_) {
          // The whole payload is in this chunk: no copy.
          const std::string_view payload =
              bytes->substr(0, static_cast<size_t>(remaining_));
          bytes->remove_prefix(payload.size());
          state_ = State::kLength;
          return FrameItem{.kind = FrameItem::kFrame,
                           .payload = payload,
                           .length = payload.size()};
        }
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(remaining_, bytes->size()));
        buffer_.append(bytes->substr(0, n));
        bytes->remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::kLength;
          return FrameItem{.kind = FrameItem::kFrame,
                           .payload = buffer_,
                           .length = buffer_.size()};
        }
        break;
      }
    }
  }
  return FrameItem{};
}

FrameItem FrameDecoder::StartFrame() {
  const uint64_t length =
      overflow_ ? std::numeric_limits<uint64_t>::max() : length_;
  length_ = 0;
  varint_bytes_ = 0;
  overflow_ = false;
  if (length > max_frame_bytes_) {
    remaining_ = length;
    state_ = State::kSkip;
    return FrameItem{.kind = FrameItem::kTooLong, .length = length};
  }
  if (length == 0) {  // an empty payload: an Event with no field set
    return FrameItem{.kind = FrameItem::kFrame};
  }
  remaining_ = length;
  state_ = State::kPayload;
  return FrameItem{};  // the payload comes next
}

}  // namespace troupe::aggregator
