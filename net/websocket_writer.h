// WebSocketWriter: the send side of a WebSocket connection. It frames one
// message at a time, compressing it (permessage-deflate) and masking it
// (client role) as negotiated, and hands back the header and payload as two
// views ready for a single writev.
//
// Contract:
//  - WriteMessage()/WriteControl() return a Frame whose header lives inside
//    the Frame and whose payload is either the caller's bytes (server role,
//    uncompressed: no copy) or the writer's internal buffer (compressed
//    and/or masked). Views stay valid until the next call on this writer.
//  - Messages shorter than min_compress_size are sent uncompressed (RSV1
//    clear), which the receiver accepts per RFC 7692; with
//    no_context_takeover this costs nothing, with context takeover the
//    skipped message is simply not part of the shared window.
//  - Client role: every frame is masked with a fresh key from OpenSSL's
//    secure generator (RFC 6455 10.3), drawn in batches; or from the
//    mask source set for tests.
//  - Single-threaded; internal buffers are reused (no allocation per
//    message in steady state).
//
// Example (server):
//   auto writer = WebSocketWriter::Create({.deflate = handshake.deflate});
//   absl::StatusOr<WebSocketWriter::Frame> f =
//       writer->WriteMessage(Opcode::kText, AsBytes("hello"));
//   iovec iov[2] = {{f->header.data(), f->header.size()},
//                   {f->payload.data(), f->payload.size()}};
#ifndef TROUPE_NET_WEBSOCKET_WRITER_H_
#define TROUPE_NET_WEBSOCKET_WRITER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "net/permessage_deflate.h"
#include "net/websocket_frame.h"
#include "net/websocket_types.h"

namespace troupe::net {

struct WebSocketWriterOptions {
  Role role = Role::kServer;
  std::optional<DeflateParams> deflate;
  int compression_level = kDefaultCompressionLevel;
  size_t min_compress_size = 32;
};

class WebSocketWriter {
 public:
  struct Frame {
    EncodedFrameHeader header;
    std::span<const uint8_t> payload;
  };

  static absl::StatusOr<WebSocketWriter> Create(WebSocketWriterOptions options);

  WebSocketWriter(WebSocketWriter&&) noexcept = default;
  WebSocketWriter& operator=(WebSocketWriter&&) noexcept = default;

  // One complete text or binary message as a single frame.
  absl::StatusOr<Frame> WriteMessage(Opcode opcode,
                                     std::span<const uint8_t> payload);
  // A ping, pong or close frame; `payload` is cut to 125 bytes.
  absl::StatusOr<Frame> WriteControl(Opcode opcode,
                                     std::span<const uint8_t> payload);

  // Client role: replaces the random mask source (for deterministic tests).
  void set_mask_source(std::function<MaskKey()> source) {
    mask_source_ = std::move(source);
  }

 private:
  WebSocketWriter(WebSocketWriterOptions options,
                  std::optional<MessageDeflater> deflater);

  absl::StatusOr<MaskKey> NextMask();
  absl::StatusOr<Frame> Finish(FrameHeader header,
                               std::span<const uint8_t> payload);

  WebSocketWriterOptions options_;
  std::optional<MessageDeflater> deflater_;
  std::vector<uint8_t> compressed_;
  std::vector<uint8_t> masked_;
  std::function<MaskKey()> mask_source_;
  std::array<uint8_t, 256> random_{};
  size_t random_used_ = 256;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_WRITER_H_
