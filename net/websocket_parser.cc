#include "net/websocket_parser.h"

#include <cstring>
#include <utility>

namespace troupe::net {
namespace {

WebSocketEvent MakeEvent(WebSocketEventType type, size_t consumed,
                         std::span<const uint8_t> payload = {}) {
  WebSocketEvent event;
  event.type = type;
  event.consumed = consumed;
  event.payload = payload;
  return event;
}

}  // namespace

absl::StatusOr<WebSocketParser> WebSocketParser::Create(
    WebSocketParserOptions options) {
  std::optional<MessageInflater> inflater;
  if (options.deflate) {
    absl::StatusOr<MessageInflater> created =
        MessageInflater::Create(options.deflate->Receiver(options.role));
    if (!created.ok()) return created.status();
    inflater.emplace(std::move(*created));
  }
  return WebSocketParser(options, std::move(inflater));
}

WebSocketParser::WebSocketParser(WebSocketParserOptions options,
                                 std::optional<MessageInflater> inflater)
    : options_(options),
      decoder_(FrameDecoderOptions{
          .role = options.role,
          .allow_rsv1 = options.deflate.has_value(),
          .max_frame_size = options.max_frame_size,
      }),
      inflater_(std::move(inflater)) {}

WebSocketEvent WebSocketParser::Fail(uint16_t code, std::string_view reason,
                                     size_t consumed) {
  state_ = State::kFailed;
  error_ = MakeEvent(WebSocketEventType::kError, 0);
  error_.close_code = code;
  error_.error = reason;
  WebSocketEvent event = error_;
  event.consumed = consumed;
  return event;
}

WebSocketEvent WebSocketParser::Parse(std::span<uint8_t> input) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kClosed) {
    return MakeEvent(WebSocketEventType::kNeedMore, input.size());
  }
  size_t consumed = 0;
  for (;;) {
    const FrameDecoder::Result chunk = decoder_.Decode(input.subspan(consumed));
    consumed += chunk.consumed;
    if (chunk.status == FrameDecoder::Status::kNeedMore) {
      return MakeEvent(WebSocketEventType::kNeedMore, consumed);
    }
    if (chunk.status == FrameDecoder::Status::kError) {
      return Fail(chunk.close_code, chunk.reason, consumed);
    }
    const FrameHeader& header = decoder_.header();
    if (IsControlOpcode(header.opcode)) {
      if (chunk.frame_start && chunk.frame_end) {
        // Whole control frame in this input: no copy.
        return OnControlFrame(header.opcode, chunk.data, consumed);
      }
      if (chunk.frame_start) control_size_ = 0;
      // The decoder bounds control frames to kMaxControlPayload bytes.
      std::memcpy(control_.data() + control_size_, chunk.data.data(),
                  chunk.data.size());
      control_size_ += chunk.data.size();
      if (chunk.frame_end) {
        return OnControlFrame(header.opcode, {control_.data(), control_size_},
                              consumed);
      }
      continue;
    }
    if (std::optional<WebSocketEvent> event = OnDataChunk(chunk, consumed)) {
      return *event;
    }
  }
}

std::optional<WebSocketEvent> WebSocketParser::OnDataChunk(
    const FrameDecoder::Result& chunk, size_t consumed) {
  const FrameHeader& header = decoder_.header();
  if (chunk.frame_start) {
    if (header.opcode == Opcode::kContinuation) {
      if (!in_message_) {
        return Fail(close_code::kProtocolError,
                    "continuation frame without a message", consumed);
      }
    } else {
      if (in_message_) {
        return Fail(close_code::kProtocolError,
                    "data frame inside a fragmented message", consumed);
      }
      in_message_ = true;
      message_text_ = header.opcode == Opcode::kText;
      message_compressed_ = header.rsv1;
      message_.clear();
      utf8_.Reset();
    }
    if (!message_compressed_ &&
        header.payload_length > options_.max_message_size - message_.size()) {
      return Fail(close_code::kMessageTooBig, "message too big", consumed);
    }
  }

  const bool message_end = chunk.frame_end && header.fin;
  if (message_compressed_) {
    if (std::optional<WebSocketEvent> error =
            Inflate(chunk.data, /*finish=*/false, consumed)) {
      return error;
    }
    if (!message_end) return std::nullopt;
    if (std::optional<WebSocketEvent> error =
            Inflate({}, /*finish=*/true, consumed)) {
      return error;
    }
  } else {
    if (message_text_ &&
        utf8_.Feed(chunk.data) == Utf8Validator::Status::kInvalid) {
      return Fail(close_code::kInvalidPayload, "invalid UTF-8 in text message",
                  consumed);
    }
    if (message_end && chunk.frame_start && message_.empty()) {
      // The whole message is this frame, all of it in the input: deliver it
      // from there.
      if (message_text_ && !utf8_.complete()) {
        return Fail(close_code::kInvalidPayload,
                    "text message ends inside a code point", consumed);
      }
      in_message_ = false;
      return MakeEvent(message_text_ ? WebSocketEventType::kText
                                     : WebSocketEventType::kBinary,
                       consumed, chunk.data);
    }
    message_.insert(message_.end(), chunk.data.begin(), chunk.data.end());
    if (!message_end) return std::nullopt;
  }

  if (message_text_ && !utf8_.complete()) {
    return Fail(close_code::kInvalidPayload,
                "text message ends inside a code point", consumed);
  }
  in_message_ = false;
  return MakeEvent(
      message_text_ ? WebSocketEventType::kText : WebSocketEventType::kBinary,
      consumed, message_);
}

std::optional<WebSocketEvent> WebSocketParser::Inflate(
    std::span<const uint8_t> compressed, bool finish, size_t consumed) {
  const size_t before = message_.size();
  const absl::Status status =
      finish ? inflater_->FinishMessage(&message_, options_.max_message_size)
             : inflater_->Inflate(compressed, &message_,
                                  options_.max_message_size);
  if (!status.ok()) {
    if (absl::IsResourceExhausted(status)) {
      return Fail(close_code::kMessageTooBig, "message too big", consumed);
    }
    return Fail(close_code::kInvalidPayload, "invalid compressed data",
                consumed);
  }
  if (message_text_ && utf8_.Feed(std::span<const uint8_t>(message_).subspan(
                           before)) == Utf8Validator::Status::kInvalid) {
    return Fail(close_code::kInvalidPayload, "invalid UTF-8 in text message",
                consumed);
  }
  return std::nullopt;
}

WebSocketEvent WebSocketParser::OnControlFrame(Opcode opcode,
                                               std::span<const uint8_t> payload,
                                               size_t consumed) {
  switch (opcode) {
    case Opcode::kPing:
      return MakeEvent(WebSocketEventType::kPing, consumed, payload);
    case Opcode::kPong:
      return MakeEvent(WebSocketEventType::kPong, consumed, payload);
    case Opcode::kClose:
      break;
    default:
      return Fail(close_code::kProtocolError, "reserved opcode", consumed);
  }
  WebSocketEvent event = MakeEvent(WebSocketEventType::kClose, consumed);
  if (payload.empty()) {
    event.close_code = close_code::kNoStatusReceived;
  } else if (payload.size() == 1) {
    return Fail(close_code::kProtocolError, "close payload of one byte",
                consumed);
  } else {
    const uint16_t code =
        static_cast<uint16_t>((uint16_t{payload[0]} << 8) | payload[1]);
    if (!IsValidReceivedCloseCode(code)) {
      return Fail(close_code::kProtocolError, "invalid close code", consumed);
    }
    const std::span<const uint8_t> reason = payload.subspan(2);
    if (!IsValidUtf8(reason)) {
      return Fail(close_code::kInvalidPayload, "close reason is not UTF-8",
                  consumed);
    }
    event.close_code = code;
    event.payload = reason;
  }
  state_ = State::kClosed;
  return event;
}

}  // namespace troupe::net
