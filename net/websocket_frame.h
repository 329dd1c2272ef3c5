// RFC 6455 framing: a frame-header encoder, payload masking, and an
// incremental, zero-copy frame decoder.
//
// Contract (encoding):
//  - EncodeFrameHeader() writes the 2..14 header bytes (FIN, RSV1, opcode,
//    the shortest of the three length forms, the masking key) into a small
//    inline buffer, so that header and payload can go out with one writev
//    and no copy. It does not mask the payload: ApplyMask() does that, in
//    place, a machine word at a time.
//  - The Append*Frame() helpers build whole frames into a string, for
//    control frames and tests.
//
// Contract (decoding): FrameDecoder consumes a byte stream in arbitrary
// pieces and reports each frame as a sequence of chunks: the first chunk has
// frame_start (even if no payload byte has arrived yet, so limits can be
// applied before the payload is read), the last has frame_end. Chunk data
// points into the caller's input buffer, unmasked in place (the decoder
// writes to the buffer it is given). Header-level rules are enforced here,
// each failure reporting the close code to send:
//   1002 - server role and an unmasked frame, client role and a masked one;
//          RSV2/RSV3 set, RSV1 set without permessage-deflate or on a
//          control or continuation frame; a reserved opcode; a control
//          frame that is fragmented or longer than 125 bytes; a 64-bit
//          length with its top bit set; a length not in its shortest form;
//   1009 - a payload longer than max_frame_size.
// Errors are sticky. Message-level rules live in WebSocketParser.
//
// Example:
//   FrameDecoder decoder({.role = Role::kServer});
//   for (;;) {
//     FrameDecoder::Result r = decoder.Decode(buffer);
//     buffer = buffer.subspan(r.consumed);
//     if (r.status == FrameDecoder::Status::kNeedMore) break;  // read more
//     if (r.status == FrameDecoder::Status::kError) Close(r.close_code);
//     Use(decoder.header(), r.data, r.frame_start, r.frame_end);
//   }
#ifndef TROUPE_NET_WEBSOCKET_FRAME_H_
#define TROUPE_NET_WEBSOCKET_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/websocket_types.h"

namespace troupe::net {

inline constexpr size_t kMaxFrameHeaderSize = 14;

using MaskKey = std::array<uint8_t, 4>;

struct FrameHeader {
  bool fin = true;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  Opcode opcode = Opcode::kBinary;
  bool masked = false;
  MaskKey mask{};
  uint64_t payload_length = 0;
};

// A frame header in wire form.
class EncodedFrameHeader {
 public:
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), size_};
  }

 private:
  friend EncodedFrameHeader EncodeFrameHeader(const FrameHeader& header);
  std::array<uint8_t, kMaxFrameHeaderSize> bytes_;
  uint8_t size_ = 0;
};

// The wire form of `header` (the mask is written iff header.masked).
EncodedFrameHeader EncodeFrameHeader(const FrameHeader& header);

// XORs `data` with `key`, where data[0] is byte number `offset` of the
// payload (so a payload can be masked or unmasked piece by piece).
void ApplyMask(std::span<uint8_t> data, MaskKey key, uint64_t offset = 0);

// Views a string's bytes as a payload.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Appends a complete frame. With a mask, the copied payload is masked.
void AppendFrame(std::string* out, Opcode opcode,
                 std::span<const uint8_t> payload, bool fin = true,
                 bool rsv1 = false, std::optional<MaskKey> mask = {});

// A Close frame with `code` and `reason`. The reason is cut to the 123
// bytes a control frame can carry, at a UTF-8 code point boundary.
void AppendCloseFrame(std::string* out, uint16_t code, std::string_view reason,
                      std::optional<MaskKey> mask = {});
// A Close frame without a payload (no status code).
void AppendEmptyCloseFrame(std::string* out, std::optional<MaskKey> mask = {});
// The Pong answering a Ping with `ping_payload` (RFC 6455 5.5.3).
void AppendPongFrame(std::string* out, std::span<const uint8_t> ping_payload,
                     std::optional<MaskKey> mask = {});
void AppendPingFrame(std::string* out, std::span<const uint8_t> payload,
                     std::optional<MaskKey> mask = {});

struct FrameDecoderOptions {
  Role role = Role::kServer;
  // permessage-deflate negotiated: RSV1 allowed on the first frame of a
  // data message.
  bool allow_rsv1 = false;
  // Largest payload of a single frame; larger frames fail with 1009.
  uint64_t max_frame_size = uint64_t{16} << 20;
};

class FrameDecoder {
 public:
  enum class Status : uint8_t { kNeedMore, kChunk, kError };

  struct Result {
    Status status = Status::kNeedMore;
    // Bytes of the input used. kNeedMore: all of it.
    size_t consumed = 0;
    // kChunk: unmasked payload bytes (a view into the input).
    std::span<uint8_t> data;
    bool frame_start = false;  // first chunk of the frame: header() is new
    bool frame_end = false;    // last chunk of the frame
    // kError: the close code to send and a short static reason.
    uint16_t close_code = 0;
    std::string_view reason;
  };

  explicit FrameDecoder(FrameDecoderOptions options = {});

  // Decodes from `input`, which it may modify (unmasking in place).
  Result Decode(std::span<uint8_t> input);

  // The header of the frame being delivered (valid from its frame_start
  // chunk on).
  const FrameHeader& header() const { return header_; }
  // Payload bytes of the current frame delivered before the last chunk.
  uint64_t chunk_offset() const { return chunk_offset_; }

 private:
  enum class State : uint8_t { kHeader, kPayload, kFailed };

  // Validates and stores a complete header starting at `h`.
  bool ParseHeader(const uint8_t* h, Result* error);
  Result Fail(uint16_t code, std::string_view reason);
  Result NextChunk(std::span<uint8_t> input, size_t pos, bool frame_start);

  FrameDecoderOptions options_;
  State state_ = State::kHeader;
  FrameHeader header_;
  uint64_t remaining_ = 0;  // payload bytes of the frame still to come
  uint64_t delivered_ = 0;  // payload bytes of the frame delivered
  uint64_t chunk_offset_ = 0;
  std::array<uint8_t, kMaxFrameHeaderSize> partial_{};  // split header
  uint8_t partial_size_ = 0;
  uint16_t error_code_ = 0;
  std::string_view error_reason_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_FRAME_H_
