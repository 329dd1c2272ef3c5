// WebSocket close status codes (RFC 6455 section 7.4) and the rule that
// decides which codes may appear in a Close frame on the wire.
//
// Contract: constants only, plus one constexpr predicate. The predicate
// follows the Autobahn TestSuite (cases 7.7.x / 7.9.x): a received code is
// valid if it is one of the registered codes an endpoint may send
// (1000-1003, 1007-1011) or in the private/application range 3000-4999.
// 1004 (reserved), 1005/1006/1015 (never sent on the wire), anything below
// 1000 and 1012-2999 are invalid and make the receiver fail the connection
// with kProtocolError.
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
// Reported locally when the TLS handshake failed, never on the wire.
inline constexpr uint16_t kTlsHandshake = 1015;

// First and last code of the range left to libraries and applications.
inline constexpr uint16_t kFirstPrivate = 3000;
inline constexpr uint16_t kLastPrivate = 4999;

}  // namespace close_code

// True if `code` may legitimately appear in a received Close frame.
constexpr bool IsValidReceivedCloseCode(uint32_t code) {
  if (code >= close_code::kFirstPrivate && code <= close_code::kLastPrivate) {
    return true;
  }
  if (code >= close_code::kNormal && code <= close_code::kUnsupportedData) {
    return true;
  }
  return code >= close_code::kInvalidPayload &&
         code <= close_code::kInternalError;
}

}  // namespace troupe::net

#endif  // TROUPE_NET_CLOSE_CODES_H_
