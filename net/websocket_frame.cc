#include "net/websocket_frame.h"

#include <algorithm>
#include <cstring>

#include "net/close_codes.h"

namespace troupe::net {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsv1Bit = 0x40;
constexpr uint8_t kRsv2Bit = 0x20;
constexpr uint8_t kRsv3Bit = 0x10;
constexpr uint8_t kOpcodeMask = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthMask = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;

// Header size implied by the first two header bytes.
size_t HeaderSize(uint8_t byte1) {
  const uint8_t len7 = byte1 & kLengthMask;
  size_t size = 2;
  if (len7 == kLength16) size += 2;
  if (len7 == kLength64) size += 8;
  if ((byte1 & kMaskBit) != 0) size += 4;
  return size;
}

// The longest reason that fits a Close frame after the 2-byte code, cut at
// a code point boundary (never leaving half a UTF-8 sequence).
std::string_view TruncateReason(std::string_view reason) {
  constexpr size_t kMaxReason = kMaxControlPayload - 2;
  if (reason.size() <= kMaxReason) return reason;
  size_t end = kMaxReason;
  // Step back over continuation bytes to the start of the cut code point.
  while (end > 0 && (static_cast<uint8_t>(reason[end]) & 0xC0) == 0x80) --end;
  return reason.substr(0, end);
}

}  // namespace

EncodedFrameHeader EncodeFrameHeader(const FrameHeader& header) {
  EncodedFrameHeader out;
  uint8_t* p = out.bytes_.data();
  p[0] = static_cast<uint8_t>(
      (header.fin ? kFinBit : 0) | (header.rsv1 ? kRsv1Bit : 0) |
      (header.rsv2 ? kRsv2Bit : 0) | (header.rsv3 ? kRsv3Bit : 0) |
      (static_cast<uint8_t>(header.opcode) & kOpcodeMask));
  const uint8_t mask_bit = header.masked ? kMaskBit : 0;
  const uint64_t n = header.payload_length;
  size_t size = 2;
  if (n < kLength16) {
    p[1] = static_cast<uint8_t>(mask_bit | n);
  } else if (n <= 0xFFFF) {
    p[1] = mask_bit | kLength16;
    p[2] = static_cast<uint8_t>(n >> 8);
    p[3] = static_cast<uint8_t>(n);
    size = 4;
  } else {
    p[1] = mask_bit | kLength64;
    for (int i = 0; i < 8; ++i) {
      p[2 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    }
    size = 10;
  }
  if (header.masked) {
    std::memcpy(p + size, header.mask.data(), 4);
    size += 4;
  }
  out.size_ = static_cast<uint8_t>(size);
  return out;
}

void ApplyMask(std::span<uint8_t> data, MaskKey key, uint64_t offset) {
  // The key rotated so that rotated[0] applies to data[0].
  std::array<uint8_t, 8> rotated;
  for (size_t i = 0; i < rotated.size(); ++i) {
    rotated[i] = key[(i + offset) & 3];
  }
  uint64_t word_key;
  std::memcpy(&word_key, rotated.data(), sizeof(word_key));
  uint8_t* p = data.data();
  const size_t n = data.size();
  size_t i = 0;
  // Four words per iteration; memcpy keeps unaligned access well defined
  // and compiles to plain loads and stores (or vector code).
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof(w));
    w[0] ^= word_key;
    w[1] ^= word_key;
    w[2] ^= word_key;
    w[3] ^= word_key;
    std::memcpy(p + i, w, sizeof(w));
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof(w));
    w ^= word_key;
    std::memcpy(p + i, &w, sizeof(w));
  }
  for (; i < n; ++i) p[i] ^= rotated[i & 3];
}

void AppendFrame(std::string* out, Opcode opcode,
                 std::span<const uint8_t> payload, bool fin, bool rsv1,
                 std::optional<MaskKey> mask) {
  FrameHeader header;
  header.fin = fin;
  header.rsv1 = rsv1;
  header.opcode = opcode;
  header.payload_length = payload.size();
  header.masked = mask.has_value();
  if (mask) header.mask = *mask;
  const EncodedFrameHeader encoded = EncodeFrameHeader(header);
  out->append(encoded.view());
  const size_t start = out->size();
  out->append(AsChars(payload));
  if (mask) {
    ApplyMask({reinterpret_cast<uint8_t*>(out->data()) + start, payload.size()},
              *mask);
  }
}

void AppendCloseFrame(std::string* out, uint16_t code, std::string_view reason,
                      std::optional<MaskKey> mask) {
  reason = TruncateReason(reason);
  std::array<uint8_t, kMaxControlPayload> payload;
  payload[0] = static_cast<uint8_t>(code >> 8);
  payload[1] = static_cast<uint8_t>(code);
  // An empty reason may have a null data(): memcpy must not see it.
  if (!reason.empty()) {
    std::memcpy(payload.data() + 2, reason.data(), reason.size());
  }
  AppendFrame(out, Opcode::kClose, {payload.data(), 2 + reason.size()},
              /*fin=*/true, /*rsv1=*/false, mask);
}

void AppendEmptyCloseFrame(std::string* out, std::optional<MaskKey> mask) {
  AppendFrame(out, Opcode::kClose, {}, /*fin=*/true, /*rsv1=*/false, mask);
}

void AppendPongFrame(std::string* out, std::span<const uint8_t> ping_payload,
                     std::optional<MaskKey> mask) {
  AppendFrame(
      out, Opcode::kPong,
      ping_payload.first(std::min(ping_payload.size(), kMaxControlPayload)),
      /*fin=*/true, /*rsv1=*/false, mask);
}

void AppendPingFrame(std::string* out, std::span<const uint8_t> payload,
                     std::optional<MaskKey> mask) {
  AppendFrame(out, Opcode::kPing,
              payload.first(std::min(payload.size(), kMaxControlPayload)),
              /*fin=*/true, /*rsv1=*/false, mask);
}

FrameDecoder::FrameDecoder(FrameDecoderOptions options) : options_(options) {}

FrameDecoder::Result FrameDecoder::Fail(uint16_t code,
                                        std::string_view reason) {
  state_ = State::kFailed;
  error_code_ = code;
  error_reason_ = reason;
  Result result;
  result.status = Status::kError;
  result.close_code = code;
  result.reason = reason;
  return result;
}

bool FrameDecoder::ParseHeader(const uint8_t* h, Result* error) {
  FrameHeader header;
  header.fin = (h[0] & kFinBit) != 0;
  header.rsv1 = (h[0] & kRsv1Bit) != 0;
  header.rsv2 = (h[0] & kRsv2Bit) != 0;
  header.rsv3 = (h[0] & kRsv3Bit) != 0;
  const uint8_t opcode = h[0] & kOpcodeMask;
  header.masked = (h[1] & kMaskBit) != 0;
  const uint8_t len7 = h[1] & kLengthMask;
  size_t pos = 2;
  uint64_t length = len7;
  if (len7 == kLength16) {
    length = (uint64_t{h[2]} << 8) | h[3];
    pos = 4;
  } else if (len7 == kLength64) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | h[2 + i];
    pos = 10;
  }
  if (header.masked) std::memcpy(header.mask.data(), h + pos, 4);
  header.payload_length = length;

  if (!IsKnownOpcode(opcode)) {
    *error = Fail(close_code::kProtocolError, "reserved opcode");
    return false;
  }
  header.opcode = static_cast<Opcode>(opcode);
  if (header.rsv2 || header.rsv3) {
    *error = Fail(close_code::kProtocolError, "reserved bit set");
    return false;
  }
  if (header.rsv1 && (!options_.allow_rsv1 || IsControlOpcode(header.opcode) ||
                      header.opcode == Opcode::kContinuation)) {
    *error = Fail(close_code::kProtocolError, "unexpected RSV1 bit");
    return false;
  }
  if (options_.role == Role::kServer && !header.masked) {
    *error = Fail(close_code::kProtocolError, "client frame not masked");
    return false;
  }
  if (options_.role == Role::kClient && header.masked) {
    *error = Fail(close_code::kProtocolError, "server frame masked");
    return false;
  }
  if (len7 == kLength64 && (length >> 63) != 0) {
    *error = Fail(close_code::kProtocolError, "64-bit length with top bit set");
    return false;
  }
  if ((len7 == kLength16 && length < kLength16) ||
      (len7 == kLength64 && length <= 0xFFFF)) {
    *error = Fail(close_code::kProtocolError, "length not minimally encoded");
    return false;
  }
  if (IsControlOpcode(header.opcode)) {
    if (!header.fin) {
      *error = Fail(close_code::kProtocolError, "fragmented control frame");
      return false;
    }
    if (length > kMaxControlPayload) {
      *error = Fail(close_code::kProtocolError, "control frame too long");
      return false;
    }
  }
  if (length > options_.max_frame_size) {
    *error = Fail(close_code::kMessageTooBig, "frame too big");
    return false;
  }
  header_ = header;
  remaining_ = length;
  delivered_ = 0;
  return true;
}

FrameDecoder::Result FrameDecoder::NextChunk(std::span<uint8_t> input,
                                             size_t pos, bool frame_start) {
  const size_t available = input.size() - pos;
  const size_t take =
      static_cast<size_t>(std::min<uint64_t>(remaining_, available));
  Result result;
  result.status = Status::kChunk;
  result.data = input.subspan(pos, take);
  result.frame_start = frame_start;
  if (header_.masked && take > 0) {
    ApplyMask(result.data, header_.mask, delivered_);
  }
  chunk_offset_ = delivered_;
  delivered_ += take;
  remaining_ -= take;
  result.consumed = pos + take;
  result.frame_end = remaining_ == 0;
  state_ = result.frame_end ? State::kHeader : State::kPayload;
  return result;
}

FrameDecoder::Result FrameDecoder::Decode(std::span<uint8_t> input) {
  if (state_ == State::kFailed) {
    Result result;
    result.status = Status::kError;
    result.close_code = error_code_;
    result.reason = error_reason_;
    return result;
  }
  if (state_ == State::kPayload) {
    if (input.empty()) return Result{};
    return NextChunk(input, 0, /*frame_start=*/false);
  }

  // State::kHeader. Fast path: the whole header is in the input.
  Result error;
  if (partial_size_ == 0 && input.size() >= 2 &&
      input.size() >= HeaderSize(input[1])) {
    if (!ParseHeader(input.data(), &error)) return error;
    return NextChunk(input, HeaderSize(input[1]), /*frame_start=*/true);
  }
  // Slow path: gather the header across calls in partial_.
  size_t pos = 0;
  size_t needed = partial_size_ < 2 ? 2 : HeaderSize(partial_[1]);
  while (partial_size_ < needed && pos < input.size()) {
    partial_[partial_size_++] = input[pos++];
    if (partial_size_ == 2) needed = HeaderSize(partial_[1]);
  }
  if (partial_size_ < needed) {
    Result result;
    result.consumed = pos;
    return result;
  }
  partial_size_ = 0;
  if (!ParseHeader(partial_.data(), &error)) return error;
  return NextChunk(input, pos, /*frame_start=*/true);
}

}  // namespace troupe::net
