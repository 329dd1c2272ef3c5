#include "examples/stream_aggregator/frame_input.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace troupe::aggregator {

FrameInput::FrameInput(InputPort* port, size_t max_frame_bytes)
    : port_(port), decoder_(max_frame_bytes) {
  port_->set_record_unit("frame");
}

Task<absl::Status> FrameInput::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const FrameItem item = decoder_.Next(&bytes);
    bool full = false;
    switch (item.kind) {
      case FrameItem::kNeedMore:
        break;
      case FrameItem::kFrame: {
        EventView event;
        const ParseError error = parser_.Parse(item.payload, &event);
        if (error == ParseError::kNone) {
          full = port_->Add(event.key, event.ts_ms, event.value);
        } else {
          port_->AddBad(error, "");
        }
        break;
      }
      case FrameItem::kTooLong: {
        const std::string detail = absl::StrCat(" (length ", item.length,
                                                " bytes; its bytes are "
                                                "discarded)");
        port_->AddBad(ParseError::kFrameTooLong, detail.c_str());
        break;
      }
      case FrameItem::kMalformedLength:
        port_->AddBad(ParseError::kMalformedFrameLength,
                      " (a length varint of more than 10 bytes; the "
                      "connection is closed)");
        break;
    }
    if (full) {
      const absl::Status sent = co_await port_->Flush();
      if (!sent.ok()) co_return sent;
    }
  }
  co_return co_await port_->Flush();
}

void FrameInput::Finish() {
  if (decoder_.mid_frame()) {
    port_->AddBad(ParseError::kTruncatedFrame,
                  " (the stream ended inside the frame)");
  }
}

}  // namespace troupe::aggregator
