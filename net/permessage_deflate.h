// permessage-deflate (RFC 7692) message compression: raw DEFLATE with the
// trailing empty block (00 00 ff ff) removed on send and re-added on receive,
// per-direction context takeover and LZ77 window sizes.
//
// Contract:
//  - MessageDeflater turns one whole message into the payload of a frame
//    sent with RSV1 set. With context takeover the LZ77 window carries over
//    to the next message; with no_context_takeover every message stands
//    alone. window_bits is 8..15; zlib cannot deflate with an 8-bit window,
//    so 8 runs as 9, which is still decodable by a 256-byte window: zlib
//    never emits a distance above (2^9 - 262) = 250 with a 9-bit window.
//  - MessageInflater decompresses a message as its frames arrive: Inflate()
//    for each piece of compressed payload, FinishMessage() at the end. The
//    output never grows past `max_size`: an over-long message fails with
//    kResourceExhausted (close code 1009) as soon as the limit is crossed,
//    so a decompression bomb costs at most max_size bytes. Corrupt input
//    fails with kDataLoss (close code 1007).
//  - Objects own a zlib stream (heap allocated, so moves are cheap and
//    safe); buffers passed in are reused, so steady-state use does not
//    allocate. Not thread-safe.
//
// Example:
//   auto deflater = MessageDeflater::Create(params.Sender(Role::kServer));
//   std::vector<uint8_t> payload;
//   RETURN_IF_ERROR(deflater->Compress(message, &payload));
//   // send payload in a frame with RSV1 = 1
//
//   auto inflater = MessageInflater::Create(params.Receiver(Role::kServer));
//   RETURN_IF_ERROR(inflater->Inflate(piece, &message, kMaxMessage));
//   RETURN_IF_ERROR(inflater->FinishMessage(&message, kMaxMessage));
#ifndef TROUPE_NET_PERMESSAGE_DEFLATE_H_
#define TROUPE_NET_PERMESSAGE_DEFLATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/websocket_types.h"

namespace troupe::net {

// The settings of one direction of a permessage-deflate connection.
struct DeflateDirection {
  int window_bits = 15;  // 8..15
  bool no_context_takeover = false;
};

// Negotiated permessage-deflate parameters (RFC 7692 section 7.1).
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;

  // The direction `role` compresses in (server: the server_* parameters).
  DeflateDirection Sender(Role role) const;
  // The direction `role` decompresses (server: the client_* parameters).
  DeflateDirection Receiver(Role role) const;

  bool operator==(const DeflateParams&) const = default;
};

// zlib's default level (6) is a good ratio/CPU trade; 1 is fastest.
inline constexpr int kDefaultCompressionLevel = 6;

class MessageDeflater {
 public:
  // level: 0..9; mem_level: 1..9 (zlib's memLevel, 8 by default).
  static absl::StatusOr<MessageDeflater> Create(
      DeflateDirection direction, int level = kDefaultCompressionLevel,
      int mem_level = 8);

  MessageDeflater(MessageDeflater&&) noexcept;
  MessageDeflater& operator=(MessageDeflater&&) noexcept;
  ~MessageDeflater();

  // Replaces *out with the compressed form of `message`, without the
  // 00 00 ff ff tail. An empty message compresses to the single byte 00.
  absl::Status Compress(std::span<const uint8_t> message,
                        std::vector<uint8_t>* out);

 private:
  struct Stream;
  MessageDeflater(std::unique_ptr<Stream> stream, bool no_context_takeover);

  std::unique_ptr<Stream> stream_;
  bool no_context_takeover_;
};

class MessageInflater {
 public:
  static absl::StatusOr<MessageInflater> Create(DeflateDirection direction);

  MessageInflater(MessageInflater&&) noexcept;
  MessageInflater& operator=(MessageInflater&&) noexcept;
  ~MessageInflater();

  // Decompresses the next bytes of the current message's payload, appending
  // to *out. Fails with kResourceExhausted once out->size() would exceed
  // max_size, kDataLoss on corrupt data.
  absl::Status Inflate(std::span<const uint8_t> compressed,
                       std::vector<uint8_t>* out, size_t max_size);

  // Ends the current message (feeds the 00 00 ff ff tail) and, with
  // no_context_takeover, forgets the window. Same errors as Inflate().
  absl::Status FinishMessage(std::vector<uint8_t>* out, size_t max_size);

  // Convenience: clears *out, then Inflate() + FinishMessage().
  absl::Status Decompress(std::span<const uint8_t> compressed,
                          std::vector<uint8_t>* out, size_t max_size);

 private:
  struct Stream;
  MessageInflater(std::unique_ptr<Stream> stream, bool no_context_takeover);
  absl::Status Run(std::span<const uint8_t> compressed,
                   std::vector<uint8_t>* out, size_t max_size);
  absl::Status ResetStream(bool keep_window);

  std::unique_ptr<Stream> stream_;
  bool no_context_takeover_;
  // Whether the current message has had compressed bytes (an empty payload
  // means an empty message and must not be followed by the tail).
  bool message_has_input_ = false;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_PERMESSAGE_DEFLATE_H_
