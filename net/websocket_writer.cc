#include "net/websocket_writer.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace troupe::net {

absl::StatusOr<WebSocketWriter> WebSocketWriter::Create(
    WebSocketWriterOptions options) {
  std::optional<MessageDeflater> deflater;
  if (options.deflate) {
    absl::StatusOr<MessageDeflater> created = MessageDeflater::Create(
        options.deflate->Sender(options.role), options.compression_level);
    if (!created.ok()) return created.status();
    deflater.emplace(std::move(*created));
  }
  return WebSocketWriter(options, std::move(deflater));
}

WebSocketWriter::WebSocketWriter(WebSocketWriterOptions options,
                                 std::optional<MessageDeflater> deflater)
    : options_(options), deflater_(std::move(deflater)) {}

absl::StatusOr<MaskKey> WebSocketWriter::NextMask() {
  if (mask_source_) return mask_source_();
  MaskKey key;
  if (random_used_ + key.size() > random_.size()) {
    if (RAND_bytes(random_.data(), static_cast<int>(random_.size())) != 1) {
      return absl::UnavailableError("no secure random bytes for masking");
    }
    random_used_ = 0;
  }
  std::memcpy(key.data(), random_.data() + random_used_, key.size());
  random_used_ += key.size();
  return key;
}

absl::StatusOr<WebSocketWriter::Frame> WebSocketWriter::Finish(
    FrameHeader header, std::span<const uint8_t> payload) {
  header.payload_length = payload.size();
  Frame frame;
  if (options_.role == Role::kClient) {
    absl::StatusOr<MaskKey> mask = NextMask();
    if (!mask.ok()) return mask.status();
    header.masked = true;
    header.mask = *mask;
    std::span<uint8_t> target;
    if (!compressed_.empty() && payload.data() == compressed_.data()) {
      // Our own buffer: mask in place.
      target = compressed_;
    } else {
      masked_.assign(payload.begin(), payload.end());
      target = masked_;
    }
    ApplyMask(target, header.mask);
    payload = target;
  }
  frame.header = EncodeFrameHeader(header);
  frame.payload = payload;
  return frame;
}

absl::StatusOr<WebSocketWriter::Frame> WebSocketWriter::WriteMessage(
    Opcode opcode, std::span<const uint8_t> payload) {
  if (opcode != Opcode::kText && opcode != Opcode::kBinary) {
    return absl::InvalidArgumentError("not a data opcode");
  }
  FrameHeader header;
  header.opcode = opcode;
  compressed_.clear();
  if (deflater_ && payload.size() >= options_.min_compress_size) {
    if (absl::Status s = deflater_->Compress(payload, &compressed_); !s.ok()) {
      return s;
    }
    header.rsv1 = true;
    return Finish(header, compressed_);
  }
  return Finish(header, payload);
}

absl::StatusOr<WebSocketWriter::Frame> WebSocketWriter::WriteControl(
    Opcode opcode, std::span<const uint8_t> payload) {
  if (!IsControlOpcode(opcode)) {
    return absl::InvalidArgumentError("not a control opcode");
  }
  FrameHeader header;
  header.opcode = opcode;
  compressed_.clear();
  return Finish(header,
                payload.first(std::min(payload.size(), kMaxControlPayload)));
}

}  // namespace troupe::net
