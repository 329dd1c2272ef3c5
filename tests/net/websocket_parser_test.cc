// WebSocketParser against the Autobahn TestSuite case list, sections 1-5
// (framing, pings/pongs, reserved bits, opcodes, fragmentation), each fed
// whole and in pieces. Sections 6, 7 and 9 are in
// websocket_parser_rules_test.cc.

#include "net/websocket_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "tests/net/websocket_test_util.h"

namespace troupe::net {
namespace {

using testing::ClientFrame;
using testing::Close;
using testing::Ev;
using testing::Event;
using testing::ExpectSameEventsForPieceSizes;
using testing::FeedInPieces;
using testing::Hex;
using testing::MakeParser;
using testing::Parse;
using testing::ParseAsServer;
using testing::Pattern;
using testing::RawClientFrame;
using Type = WebSocketEventType;

// === Section 1: framing ====================================================

class Framing : public ::testing::TestWithParam<size_t> {};

TEST_P(Framing, DeliversATextMessageOfThisLength) {
  const std::string payload = Pattern(GetParam());
  const std::string wire = ClientFrame(Opcode::kText, payload);
  ExpectSameEventsForPieceSizes(wire, {Ev(Type::kText, payload)},
                                {wire.size(), 997, 1, 2, 3});
}

TEST_P(Framing, DeliversABinaryMessageOfThisLength) {
  std::string payload = Pattern(GetParam());
  for (size_t i = 0; i < payload.size(); i += 3) payload[i] = '\xfe';
  const std::string wire = ClientFrame(Opcode::kBinary, payload);
  ExpectSameEventsForPieceSizes(wire, {Ev(Type::kBinary, payload)},
                                {wire.size(), 997, 7});
}

// Autobahn 1.1.1-1.1.8 / 1.2.1-1.2.8 lengths.
INSTANTIATE_TEST_SUITE_P(Autobahn1, Framing,
                         ::testing::Values(0, 125, 126, 127, 128, 65535,
                                           65536));

TEST(WebSocketParser, DeliversASingleFrameMessageStraightFromTheInput) {
  std::vector<uint8_t> wire;
  const std::string frame = ClientFrame(Opcode::kText, "no copy");
  wire.assign(frame.begin(), frame.end());
  WebSocketParser parser = MakeParser();
  const WebSocketEvent e = parser.Parse(wire);
  ASSERT_EQ(e.type, Type::kText);
  EXPECT_EQ(e.text(), "no copy");
  EXPECT_EQ(e.payload.data(), wire.data() + 6);
  EXPECT_EQ(e.consumed, wire.size());
}

TEST(WebSocketParser, DeliversSeveralMessagesFromOneBufferOneAtATime) {
  std::string s = ClientFrame(Opcode::kText, "a") +
                  ClientFrame(Opcode::kBinary, "bb") +
                  ClientFrame(Opcode::kText, "ccc");
  std::vector<uint8_t> wire(s.begin(), s.end());
  WebSocketParser parser = MakeParser();
  std::span<uint8_t> rest(wire);
  std::vector<std::string> got;
  for (;;) {
    const WebSocketEvent e = parser.Parse(rest);
    rest = rest.subspan(e.consumed);
    if (e.type == Type::kNeedMore) break;
    got.emplace_back(e.text());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_TRUE(rest.empty());
}

TEST(WebSocketParser, AcceptsUnmaskedServerFramesInTheClientRole) {
  std::string wire;
  AppendFrame(&wire, Opcode::kText, AsBytes("hi"));
  const std::vector<Event> events =
      ParseAsServer(wire, {.role = Role::kClient});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "hi");
}

TEST(WebSocketParser, RejectsAnUnmaskedClientFrameWith1002) {
  std::string wire;
  AppendFrame(&wire, Opcode::kText, AsBytes("hi"));
  const std::vector<Event> events = ParseAsServer(wire);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kError);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(WebSocketParser, RejectsAMaskedServerFrameWith1002) {
  const std::vector<Event> events =
      ParseAsServer(ClientFrame(Opcode::kText, "hi"), {.role = Role::kClient});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

// === Section 2: pings and pongs ============================================

TEST(WebSocketParser, DeliversPingsAndPongsWithTheirPayloads) {
  const std::string binary = Hex("00fffe7f80");
  const std::string wire =
      ClientFrame(Opcode::kPing, "") +                     // 2.1
      ClientFrame(Opcode::kPing, "Hello, world!") +        // 2.2
      ClientFrame(Opcode::kPing, binary) +                 // 2.3
      ClientFrame(Opcode::kPing, std::string(125, 'p')) +  // 2.4
      ClientFrame(Opcode::kPong, "unsolicited");           // 2.7
  ExpectSameEventsForPieceSizes(
      wire,
      {Ev(Type::kPing), Ev(Type::kPing, "Hello, world!"),
       Ev(Type::kPing, binary), Ev(Type::kPing, std::string(125, 'p')),
       Ev(Type::kPong, "unsolicited")},
      {wire.size(), 1, 2, 5, 64});  // 2.6: ping sent in chops
}

TEST(WebSocketParser, RejectsAPingOver125BytesWith1002) {
  // 2.5: the 16-bit length form on a control frame.
  const std::vector<Event> events =
      ParseAsServer(ClientFrame(Opcode::kPing, std::string(126, 'p')));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(WebSocketParser, DeliversTenPingsInARow) {
  std::string wire;
  std::vector<Event> expected;
  for (int i = 0; i < 10; ++i) {
    wire += ClientFrame(Opcode::kPing, "payload-" + std::to_string(i));
    expected.push_back(Ev(Type::kPing, "payload-" + std::to_string(i)));
  }
  ExpectSameEventsForPieceSizes(wire, expected, {wire.size(), 1, 3});
}

TEST(WebSocketParser, CopiesAPingSplitAcrossReads) {
  const std::string wire = ClientFrame(Opcode::kPing, "split ping");
  WebSocketParser parser = MakeParser();
  std::vector<uint8_t> a(wire.begin(), wire.begin() + 9);
  std::vector<uint8_t> b(wire.begin() + 9, wire.end());
  EXPECT_EQ(parser.Parse(a).type, Type::kNeedMore);
  const WebSocketEvent e = parser.Parse(b);
  ASSERT_EQ(e.type, Type::kPing);
  EXPECT_EQ(e.text(), "split ping");
}

// === Section 3: reserved bits ==============================================

struct ReservedBitsCase {
  const char* name;
  uint8_t first_byte;
};

class ReservedBits : public ::testing::TestWithParam<ReservedBitsCase> {};

TEST_P(ReservedBits, FailWith1002AfterDeliveringTheMessagesBefore) {
  const std::string wire = ClientFrame(Opcode::kText, "before") +
                           RawClientFrame(GetParam().first_byte, "Hello") +
                           ClientFrame(Opcode::kPing, "after");
  for (size_t piece : {wire.size(), size_t{1}}) {
    WebSocketParser parser = MakeParser();
    const std::vector<Event> events = FeedInPieces(parser, wire, piece);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, Type::kText);
    EXPECT_EQ(events[1].type, Type::kError);
    EXPECT_EQ(events[1].code, close_code::kProtocolError);
  }
}

std::string ReservedName(const ::testing::TestParamInfo<ReservedBitsCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Autobahn3, ReservedBits,
    ::testing::Values(ReservedBitsCase{"Rsv1Text", 0xC1},
                      ReservedBitsCase{"Rsv2Text", 0xA1},
                      ReservedBitsCase{"Rsv1Rsv2Text", 0xE1},
                      ReservedBitsCase{"Rsv3Text", 0x91},
                      ReservedBitsCase{"Rsv1Rsv3Binary", 0xD2},
                      ReservedBitsCase{"Rsv2Rsv3Ping", 0xB9},
                      ReservedBitsCase{"AllRsvClose", 0xF8}),
    ReservedName);

// === Section 4: opcodes ==================================================

class ReservedOpcode : public ::testing::TestWithParam<uint8_t> {};

TEST_P(ReservedOpcode, FailsWith1002AfterTheMessagesBefore) {
  const uint8_t opcode = GetParam();
  for (const std::string& payload : {std::string(), std::string("reserved")}) {
    const std::string wire = ClientFrame(Opcode::kText, "before") +
                             RawClientFrame(0x80 | opcode, payload) +
                             ClientFrame(Opcode::kPing, "after");
    const std::vector<Event> events = ParseAsServer(wire);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].payload, "before");
    EXPECT_EQ(events[1].type, Type::kError);
    EXPECT_EQ(events[1].code, close_code::kProtocolError);
  }
}

INSTANTIATE_TEST_SUITE_P(Autobahn4, ReservedOpcode,
                         ::testing::Values(3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE,
                                           0xF));

// === Section 5: fragmentation ============================================

TEST(WebSocketParser, RejectsAFragmentedPingWith1002) {
  // 5.1 / 5.2
  for (Opcode opcode : {Opcode::kPing, Opcode::kPong}) {
    const std::vector<Event> events =
        Parse(ClientFrame(opcode, "frag", /*fin=*/false) +
              ClientFrame(Opcode::kContinuation, "ment"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].code, close_code::kProtocolError);
  }
}

TEST(WebSocketParser, AssemblesATextMessageFromFragments) {
  // 5.3 / 5.4 / 5.5: in one piece, in chops, in single bytes.
  const std::string wire = ClientFrame(Opcode::kText, "frag", false) +
                           ClientFrame(Opcode::kContinuation, "ment", false) +
                           ClientFrame(Opcode::kContinuation, "ed", true);
  ExpectSameEventsForPieceSizes(wire, {Ev(Type::kText, "fragmented")},
                                {wire.size(), 1, 2, 7});
}

TEST(WebSocketParser, DeliversPingsInterleavedWithFragmentsBeforeTheMessage) {
  // 5.6 - 5.8, 5.19, 5.20
  const std::string wire = ClientFrame(Opcode::kText, "frag", false) +
                           ClientFrame(Opcode::kPing, "p1") +
                           ClientFrame(Opcode::kContinuation, "ment", false) +
                           ClientFrame(Opcode::kPong, "p2") +
                           ClientFrame(Opcode::kPing, "p3") +
                           ClientFrame(Opcode::kContinuation, "ed", true) +
                           ClientFrame(Opcode::kBinary, "next");
  ExpectSameEventsForPieceSizes(
      wire,
      {Ev(Type::kPing, "p1"), Ev(Type::kPong, "p2"), Ev(Type::kPing, "p3"),
       Ev(Type::kText, "fragmented"), Ev(Type::kBinary, "next")},
      {wire.size(), 1, 3, 11});
}

TEST(WebSocketParser, RejectsAContinuationWithoutAMessageWith1002) {
  // 5.9 - 5.14: FIN set or not, alone or before a valid message.
  for (bool fin : {true, false}) {
    const std::vector<Event> events =
        Parse(ClientFrame(Opcode::kContinuation, "orphan", fin) +
              ClientFrame(Opcode::kText, "valid"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, Type::kError);
    EXPECT_EQ(events[0].code, close_code::kProtocolError);
  }
}

TEST(WebSocketParser, RejectsAContinuationAfterACompleteMessageWith1002) {
  // 5.15: text(fin=0) cont(fin=1) cont(fin=0) text(fin=1)
  const std::vector<Event> events =
      Parse(ClientFrame(Opcode::kText, "fragment1", false) +
            ClientFrame(Opcode::kContinuation, "fragment2", true) +
            ClientFrame(Opcode::kContinuation, "fragment3", false) +
            ClientFrame(Opcode::kText, "fragment4", true));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, "fragment1fragment2");
  EXPECT_EQ(events[1].code, close_code::kProtocolError);
}

TEST(WebSocketParser, RejectsANewMessageInsideAFragmentedOneWith1002) {
  // 5.17 / 5.18
  for (Opcode second : {Opcode::kText, Opcode::kBinary}) {
    const std::vector<Event> events =
        Parse(ClientFrame(Opcode::kText, "fragment1", false) +
              ClientFrame(second, "fragment2", true));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].code, close_code::kProtocolError);
  }
}

TEST(WebSocketParser, AssemblesMessagesFromEmptyFragments) {
  const std::string wire = ClientFrame(Opcode::kText, "", false) +
                           ClientFrame(Opcode::kContinuation, "", false) +
                           ClientFrame(Opcode::kContinuation, "", true) +
                           ClientFrame(Opcode::kBinary, "", false) +
                           ClientFrame(Opcode::kContinuation, "x", true);
  ExpectSameEventsForPieceSizes(
      wire, {Ev(Type::kText, ""), Ev(Type::kBinary, "x")}, {wire.size(), 1});
}

TEST(WebSocketParser, AssemblesALargeMessageFromManyFragments) {
  const std::string payload = Pattern(300000);
  std::string wire;
  for (size_t pos = 0; pos < payload.size(); pos += 65536) {
    const bool first = pos == 0;
    const bool last = pos + 65536 >= payload.size();
    wire += ClientFrame(first ? Opcode::kBinary : Opcode::kContinuation,
                        payload.substr(pos, 65536), last);
  }
  ExpectSameEventsForPieceSizes(wire, {Ev(Type::kBinary, payload)},
                                {wire.size(), 4096, 65536, 100000});
}

// === A whole conversation at every piece size =============================

TEST(WebSocketParser, GivesTheSameEventsForAConversationFedInAnyPieceSize) {
  const std::string wire =
      ClientFrame(Opcode::kText, "hello") +
      ClientFrame(Opcode::kBinary, Pattern(300), false) +
      ClientFrame(Opcode::kPing, "mid") +
      ClientFrame(Opcode::kContinuation, Pattern(70000), true) +
      ClientFrame(Opcode::kText, Hex("e282ac"), false) +
      ClientFrame(Opcode::kContinuation, Hex("f09f9880"), true) +
      ClientFrame(Opcode::kPong, "") + Close(1001, "going");
  const std::vector<Event> expected = {
      Ev(Type::kText, "hello"),
      Ev(Type::kPing, "mid"),
      Ev(Type::kBinary, Pattern(300) + Pattern(70000)),
      Ev(Type::kText, Hex("e282acf09f9880")),
      Ev(Type::kPong),
      Ev(Type::kClose, "going", 1001)};
  std::vector<size_t> sizes;
  for (size_t piece = 1; piece <= 40; ++piece) sizes.push_back(piece);
  for (size_t piece : {127, 4096, 65536}) sizes.push_back(piece);
  sizes.push_back(wire.size());
  ExpectSameEventsForPieceSizes(wire, expected, sizes);
}

}  // namespace
}  // namespace troupe::net
