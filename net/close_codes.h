// WebSocket close status codes (RFC 6455 section 7.4) and the rule that
// decides which codes may appear in a Close frame on the wire.
//
// Contract: constants only, plus one constexpr predicate. A code is valid
// on the wire (received, or passed to WebSocketConnection::Close) if it is
// one of the codes IANA's "WebSocket Close Code Number Registry" lets an
// endpoint send - 1000-1003 (RFC 6455) and 1007-1014 (RFC 6455, plus
// 1012 Service Restart, 1013 Try Again Later and 1014 Bad Gateway,
// registered later) - or in the range left to libraries and applications,
// 3000-4999. Invalid, and failing the connection with kProtocolError when
// received: anything below 1000, 1004 (reserved), 1005, 1006 and 1015
// (reported locally, never sent), 1016-2999 (unassigned) and 5000 up.
//
// Example:
//   if (!troupe::net::IsValidReceivedCloseCode(code)) {
//     SendClose(troupe::net::close_code::kProtocolError);
//   }
#ifndef TROUPE_NET_CLOSE_CODES_H_
#define TROUPE_NET_CLOSE_CODES_H_

#include <cstdint>

namespace troupe::net {

namespace close_code {

inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
// Reserved, never on the wire.
inline constexpr uint16_t kReserved = 1004;
// Reported locally when a Close frame carried no status code.
inline constexpr uint16_t kNoStatusReceived = 1005;
// Reported locally when the connection dropped without a Close frame.
inline constexpr uint16_t kAbnormalClosure = 1006;
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;
inline constexpr uint16_t kInternalError = 1011;
inline constexpr uint16_t kServiceRestart = 1012;
inline constexpr uint16_t kTryAgainLater = 1013;
inline constexpr uint16_t kBadGateway = 1014;
// Reported locally when the TLS handshake failed, never on the wire.
inline constexpr uint16_t kTlsHandshake = 1015;

// First and last code of the range left to libraries and applications.
inline constexpr uint16_t kFirstPrivate = 3000;
inline constexpr uint16_t kLastPrivate = 4999;

}  // namespace close_code

// True if `code` may appear in a Close frame on the wire (see the top).
constexpr bool IsValidReceivedCloseCode(uint32_t code) {
  if (code >= close_code::kFirstPrivate && code <= close_code::kLastPrivate) {
    return true;
  }
  if (code >= close_code::kNormal && code <= close_code::kUnsupportedData) {
    return true;
  }
  return code >= close_code::kInvalidPayload && code <= close_code::kBadGateway;
}

}  // namespace troupe::net

#endif  // TROUPE_NET_CLOSE_CODES_H_
