// Helpers for the WebSocket tests: building wire bytes the way a peer
// would, and feeding them to a WebSocketParser in chosen pieces.
#ifndef TROUPE_TESTS_NET_WEBSOCKET_TEST_UTIL_H_
#define TROUPE_TESTS_NET_WEBSOCKET_TEST_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "net/websocket_frame.h"
#include "net/websocket_parser.h"

namespace troupe::net::testing {

inline constexpr MaskKey kTestMask = {0x37, 0xfa, 0x21, 0x3d};

// A frame as a client sends it (masked) or a server sends it (unmasked).
struct FrameSpec {
  Opcode opcode = Opcode::kText;
  std::string payload;
  bool fin = true;
  bool rsv1 = false;
  bool masked = true;
};

inline std::string Wire(const FrameSpec& spec) {
  std::string out;
  AppendFrame(&out, spec.opcode, AsBytes(spec.payload), spec.fin, spec.rsv1,
              spec.masked ? std::optional<MaskKey>(kTestMask) : std::nullopt);
  return out;
}

// A client frame (masked).
inline std::string ClientFrame(Opcode opcode, std::string_view payload,
                               bool fin = true, bool rsv1 = false) {
  return Wire({opcode, std::string(payload), fin, rsv1, true});
}

// A frame with arbitrary first byte (FIN/RSV/opcode bits), masked.
inline std::string RawClientFrame(uint8_t first_byte,
                                  std::string_view payload) {
  std::string out = ClientFrame(Opcode::kBinary, payload);
  out[0] = static_cast<char>(first_byte);
  return out;
}

struct Event {
  WebSocketEventType type;
  std::string payload;
  uint16_t code = 0;
  std::string error;
  size_t fed_before = 0;  // input bytes fed before the call that produced it

  std::string Describe() const;
};

inline std::string Event::Describe() const {
  static constexpr const char* kNames[] = {
      "need-more", "text", "binary", "ping", "pong", "close", "error"};
  return std::string(kNames[static_cast<int>(type)]) + "(" +
         std::to_string(code) + "," + payload.substr(0, 40) + "," + error + ")";
}

// Feeds `wire` to `parser` in pieces of `piece` bytes (each piece in a fresh
// buffer, as separate reads would deliver it) and returns every event other
// than kNeedMore. Stops at the first kError.
inline std::vector<Event> FeedInPieces(WebSocketParser& parser,
                                       std::string_view wire, size_t piece) {
  std::vector<Event> events;
  size_t offset = 0;
  while (offset < wire.size() || wire.empty()) {
    const size_t n = std::min(piece, wire.size() - offset);
    std::vector<uint8_t> buffer(wire.begin() + static_cast<long>(offset),
                                wire.begin() + static_cast<long>(offset + n));
    std::span<uint8_t> rest(buffer);
    for (;;) {
      WebSocketEvent e = parser.Parse(rest);
      rest = rest.subspan(e.consumed);
      if (e.type == WebSocketEventType::kNeedMore) break;
      events.push_back({e.type, std::string(e.text()), e.close_code,
                        std::string(e.error), offset});
      if (e.type == WebSocketEventType::kError) return events;
    }
    offset += n;
    if (wire.empty()) break;
  }
  return events;
}

inline WebSocketParser MakeParser(WebSocketParserOptions options = {}) {
  absl::StatusOr<WebSocketParser> parser = WebSocketParser::Create(options);
  if (!parser.ok()) std::abort();
  return std::move(*parser);
}

// Parses `wire` in one piece with a fresh server-role parser.
inline std::vector<Event> ParseAsServer(std::string_view wire,
                                        WebSocketParserOptions options = {}) {
  WebSocketParser parser = MakeParser(options);
  return FeedInPieces(parser, wire, wire.size() == 0 ? 1 : wire.size());
}

inline std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('*' + i % 80);
  return s;
}

inline std::string Hex(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}

// A client Close frame with `code` and `reason`.
inline std::string Close(uint16_t code, std::string_view reason = "") {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  payload += reason;
  return ClientFrame(Opcode::kClose, payload);
}

inline Event Ev(WebSocketEventType type, std::string payload = "",
                uint16_t code = 0) {
  return Event{type, std::move(payload), code, "", 0};
}

inline std::vector<Event> Parse(const std::string& wire) {
  return ParseAsServer(wire);
}

// Every piece size in `sizes` must produce `expected`.
inline void ExpectSameEventsForPieceSizes(const std::string& wire,
                                          const std::vector<Event>& expected,
                                          const std::vector<size_t>& sizes,
                                          WebSocketParserOptions options = {}) {
  for (size_t piece : sizes) {
    WebSocketParser parser = MakeParser(options);
    const std::vector<Event> events = FeedInPieces(parser, wire, piece);
    ASSERT_EQ(events.size(), expected.size()) << "piece " << piece;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].type, expected[i].type) << "piece " << piece;
      EXPECT_EQ(events[i].payload, expected[i].payload) << "piece " << piece;
      EXPECT_EQ(events[i].code, expected[i].code) << "piece " << piece;
    }
  }
}

}  // namespace troupe::net::testing

#endif  // TROUPE_TESTS_NET_WEBSOCKET_TEST_UTIL_H_
