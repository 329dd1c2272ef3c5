// Vocabulary shared by the WebSocket codecs (RFC 6455): the endpoint role
// and frame opcodes.
//
// Contract: plain enums and constexpr helpers; no state.
//
// Example:
//   if (IsControlOpcode(opcode) && payload.size() > kMaxControlPayload) ...
#ifndef TROUPE_NET_WEBSOCKET_TYPES_H_
#define TROUPE_NET_WEBSOCKET_TYPES_H_

#include <cstddef>
#include <cstdint>

namespace troupe::net {

// Which end of the connection we are. Clients mask what they send; servers
// require masked input and must not mask output.
enum class Role : uint8_t { kServer, kClient };

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Control frames (close, ping, pong) carry at most this many payload bytes.
inline constexpr size_t kMaxControlPayload = 125;

constexpr bool IsControlOpcode(Opcode opcode) {
  return (static_cast<uint8_t>(opcode) & 0x8) != 0;
}

// True for the six opcodes RFC 6455 defines; the rest are reserved.
constexpr bool IsKnownOpcode(uint8_t opcode) {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_TYPES_H_
