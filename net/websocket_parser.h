// WebSocketParser: the receive side of a WebSocket connection (RFC 6455,
// with optional permessage-deflate, RFC 7692). It turns a byte stream into
// whole messages, control events, or one protocol error carrying the close
// code to send.
//
// Contract:
//  - Call Parse() with received bytes; it returns one event and how many
//    bytes it consumed. Call it again with the rest until it returns
//    kNeedMore, which always means "all input consumed, read more". Parse()
//    unmasks the buffer in place.
//  - Event payloads are views, valid until the next Parse() call and while
//    the input buffer is unchanged. A message that arrives as a single
//    frame entirely inside one input buffer is delivered straight from that
//    buffer (no copy); fragmented, split or compressed messages are
//    assembled in an internal buffer that is reused across messages.
//  - Message-level rules, on top of FrameDecoder's header rules:
//      1002 - a continuation frame with no message open, or a new text or
//             binary frame while a fragmented message is open; a Close
//             payload of 1 byte or with an invalid code (see close_codes.h);
//      1007 - a text message (or Close reason) that is not UTF-8: found as
//             soon as the offending byte arrives, before the message ends;
//             compressed data that does not inflate;
//      1009 - a message longer than max_message_size (checked against the
//             frame's declared length before its payload arrives; for
//             compressed messages while inflating, so a decompression bomb
//             stops at the limit).
//  - Control frames may be interleaved with a fragmented message.
//  - After kClose, the connection is closing: later input is ignored
//    (consumed, kNeedMore). After kError, every call returns that error.
//  - Answering pings, echoing the close and timeouts are the caller's
//    decisions; AppendPongFrame() / AppendCloseFrame() in websocket_frame.h
//    and CloseReplyCode() below help.
//  - No allocation per frame in steady state; single-threaded.
//
// Example (server):
//   auto parser = WebSocketParser::Create({.role = Role::kServer,
//                                          .deflate = handshake.deflate});
//   std::span<uint8_t> in = ReceivedBytes();
//   for (;;) {
//     WebSocketEvent e = parser->Parse(in);
//     in = in.subspan(e.consumed);
//     switch (e.type) {
//       case WebSocketEventType::kNeedMore: return;  // read again
//       case WebSocketEventType::kText: OnText(e.text()); break;
//       case WebSocketEventType::kPing: AppendPongFrame(&out, e.payload);
//       break; case WebSocketEventType::kClose:
//         AppendCloseFrame(&out, CloseReplyCode(e.close_code), "");
//         return;
//       case WebSocketEventType::kError:
//         AppendCloseFrame(&out, e.close_code, e.error);
//         return;
//       default: break;
//     }
//   }
#ifndef TROUPE_NET_WEBSOCKET_PARSER_H_
#define TROUPE_NET_WEBSOCKET_PARSER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/close_codes.h"
#include "net/permessage_deflate.h"
#include "net/utf8.h"
#include "net/websocket_frame.h"
#include "net/websocket_types.h"

namespace troupe::net {

struct WebSocketParserOptions {
  Role role = Role::kServer;
  // Largest single frame payload (wire bytes).
  uint64_t max_frame_size = uint64_t{16} << 20;
  // Largest message (after decompression).
  uint64_t max_message_size = uint64_t{16} << 20;
  // Negotiated permessage-deflate parameters, if any.
  std::optional<DeflateParams> deflate;
};

enum class WebSocketEventType : uint8_t {
  kNeedMore,  // all input consumed
  kText,      // a complete, valid UTF-8 text message
  kBinary,    // a complete binary message
  kPing,
  kPong,
  kClose,  // the peer's Close frame
  kError,  // protocol violation: send a Close with close_code, then close
};

struct WebSocketEvent {
  WebSocketEventType type = WebSocketEventType::kNeedMore;
  size_t consumed = 0;
  // kText/kBinary: the message; kPing/kPong: the payload; kClose: the
  // reason (valid UTF-8).
  std::span<const uint8_t> payload;
  // kClose: the received code (1005 if the frame had none). kError: the
  // code to send.
  uint16_t close_code = 0;
  // kError: what went wrong (static text, usable as the close reason).
  std::string_view error;

  std::string_view text() const {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

// The code to put in the Close frame answering a Close with `received`:
// the same code, except 1000 for a Close that had none (1005).
constexpr uint16_t CloseReplyCode(uint16_t received) {
  return received == close_code::kNoStatusReceived ? close_code::kNormal
                                                   : received;
}

class WebSocketParser {
 public:
  // Fails only if a zlib stream cannot be set up.
  static absl::StatusOr<WebSocketParser> Create(WebSocketParserOptions options);

  WebSocketParser(WebSocketParser&&) noexcept = default;
  WebSocketParser& operator=(WebSocketParser&&) noexcept = default;

  WebSocketEvent Parse(std::span<uint8_t> input);

  // True once a Close frame arrived or an error occurred.
  bool finished() const { return state_ != State::kOpen; }

 private:
  enum class State : uint8_t { kOpen, kClosed, kFailed };

  WebSocketParser(WebSocketParserOptions options,
                  std::optional<MessageInflater> inflater);

  WebSocketEvent Fail(uint16_t code, std::string_view reason, size_t consumed);
  // Handles a data-frame chunk. Returns an event if a message completed
  // or an error occurred.
  std::optional<WebSocketEvent> OnDataChunk(const FrameDecoder::Result& chunk,
                                            size_t consumed);
  WebSocketEvent OnControlFrame(Opcode opcode, std::span<const uint8_t> payload,
                                size_t consumed);
  // Appends inflated bytes for `compressed` (or the end-of-message tail when
  // `finish`), validating new text. nullopt on success.
  std::optional<WebSocketEvent> Inflate(std::span<const uint8_t> compressed,
                                        bool finish, size_t consumed);

  WebSocketParserOptions options_;
  FrameDecoder decoder_;
  std::optional<MessageInflater> inflater_;
  State state_ = State::kOpen;
  WebSocketEvent error_;

  // The data message being assembled.
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  std::vector<uint8_t> message_;
  Utf8Validator utf8_;

  // A control frame split across inputs.
  std::array<uint8_t, kMaxControlPayload> control_{};
  size_t control_size_ = 0;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_PARSER_H_
