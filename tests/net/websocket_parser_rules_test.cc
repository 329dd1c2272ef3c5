// WebSocketParser against the Autobahn TestSuite case list, sections 6
// (UTF-8 handling, fail fast), 7 (close handling: every code from 0 to 5000)
// and 9 (limits).

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/websocket_parser.h"
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

// === Section 6: UTF-8 handling ===========================================

struct TextCase {
  const char* name;
  const char* hex;
  bool valid;
};

const TextCase kTextCases[] = {
    {"Empty", "", true},
    {"HelloMu", "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121",
     true},
    {"Kosme", "cebae1bdb9cf83cebcceb5", true},
    {"KosmeThenSurrogate", "cebae1bdb9cf83cebcceb5eda080656469746564", false},
    {"KosmeThenBeyondMax", "cebae1bdb9cf83cebcceb5f4908080656469746564", false},
    {"FirstFourByte", "f0908080", true},
    {"LastFourByte", "f48fbfbf", true},
    {"BeyondMax", "f4908080", false},
    {"FiveByteForm", "f888808080", false},
    {"LoneContinuation", "80", false},
    {"LonelyStart", "c020", false},
    {"TruncatedThreeByte", "efbf", false},
    {"Fe", "fe", false},
    {"OverlongSlash", "c0af", false},
    {"OverlongNul", "e08080", false},
    {"MaxOverlongFour", "f08fbfbf", false},
    {"HighSurrogate", "eda080", false},
    {"LowSurrogate", "edbfbf", false},
    {"SurrogatePair", "eda080edb080", false},
    {"Noncharacter", "efbfbe", true},
    {"Replacement", "656469746564efbfbd", true},
};

class TextMessage : public ::testing::TestWithParam<TextCase> {};

TEST_P(TextMessage, IsCheckedForEveryFragmentationAtEveryByteBoundary) {
  const std::string text = Hex(GetParam().hex);
  // Two frames, split at every byte (6.2.2-6.2.4, 6.x "fragmented on code
  // point/byte"), each wire also fed a byte at a time.
  for (size_t split = 0; split <= text.size(); ++split) {
    const std::string wire =
        ClientFrame(Opcode::kText, text.substr(0, split), false) +
        ClientFrame(Opcode::kContinuation, text.substr(split), true);
    for (size_t piece : {wire.size(), size_t{1}}) {
      WebSocketParser parser = MakeParser();
      const std::vector<Event> events = FeedInPieces(parser, wire, piece);
      ASSERT_EQ(events.size(), 1u) << split;
      if (GetParam().valid) {
        EXPECT_EQ(events[0].type, Type::kText);
        EXPECT_EQ(events[0].payload, text);
      } else {
        EXPECT_EQ(events[0].type, Type::kError);
        EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
      }
    }
  }
  // One frame per byte (6.x.x "in steps").
  std::string wire;
  for (size_t i = 0; i < text.size(); ++i) {
    wire += ClientFrame(i == 0 ? Opcode::kText : Opcode::kContinuation,
                        text.substr(i, 1), i + 1 == text.size());
  }
  if (text.empty()) wire = ClientFrame(Opcode::kText, "");
  const std::vector<Event> events = Parse(wire);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, GetParam().valid ? Type::kText : Type::kError);
}

TEST_P(TextMessage, IsAcceptedAsBinaryWhateverItsBytes) {
  const std::string bytes = Hex(GetParam().hex);
  const std::vector<Event> events = Parse(ClientFrame(Opcode::kBinary, bytes));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kBinary);
  EXPECT_EQ(events[0].payload, bytes);
}

std::string TextName(const ::testing::TestParamInfo<TextCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Autobahn6, TextMessage,
                         ::testing::ValuesIn(kTextCases), TextName);

TEST(WebSocketParser, FailsFastOnInvalidUtf8BeforeTheMessageEnds) {
  // 6.4.1/6.4.2: the invalid sequence comes in the first fragment; the
  // error must come before the rest of the message is sent.
  const std::string first =
      ClientFrame(Opcode::kText, Hex("cebae1bdb9cf83cebcceb5f4908080"), false);
  WebSocketParser parser = MakeParser();
  std::vector<Event> events = FeedInPieces(parser, first, first.size());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kError);
  EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
}

TEST(WebSocketParser, FailsFastOnInvalidUtf8InsideASingleFrame) {
  // 6.4.3/6.4.4: one frame, sent in chops: the error must come as soon as
  // the chop with the offending byte (F4 90: beyond U+10FFFF) arrives.
  const std::string text = Hex("cebae1bdb9cf83cebcceb5f4908080656469746564");
  const std::string wire = ClientFrame(Opcode::kText, text);
  WebSocketParser parser = MakeParser();
  const std::vector<Event> events = FeedInPieces(parser, wire, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
  // Header is 6 bytes; 0x90 is payload byte 12.
  EXPECT_EQ(events[0].fed_before, 6u + 12u);
}

TEST(WebSocketParser, RejectsATextMessageEndingInsideACodePointWith1007) {
  const std::vector<Event> events =
      Parse(ClientFrame(Opcode::kText, Hex("e282"), false) +
            ClientFrame(Opcode::kContinuation, "", true));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
}

TEST(WebSocketParser, ValidatesEachTextMessageIndependently) {
  // The first message ends cleanly; the second starts with a continuation
  // byte, which is invalid on its own.
  const std::vector<Event> events =
      Parse(ClientFrame(Opcode::kText, Hex("e282ac")) +
            ClientFrame(Opcode::kText, Hex("82ac")));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, Type::kText);
  EXPECT_EQ(events[1].code, close_code::kInvalidPayload);
}

// === Section 7: close handling ===========================================

TEST(WebSocketParser, ReportsACloseWithoutPayloadAs1005) {
  // 7.3.1
  const std::vector<Event> events = Parse(ClientFrame(Opcode::kClose, ""));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kClose);
  EXPECT_EQ(events[0].code, close_code::kNoStatusReceived);
  EXPECT_EQ(CloseReplyCode(events[0].code), close_code::kNormal);
}

TEST(WebSocketParser, RejectsACloseWithAOneBytePayloadWith1002) {
  // 7.3.2
  const std::vector<Event> events = Parse(ClientFrame(Opcode::kClose, "a"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(WebSocketParser, ReportsTheCloseCodeAndReason) {
  // 7.3.3 - 7.3.5
  const std::vector<Event> a = Parse(Close(1000));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].code, 1000);
  EXPECT_EQ(a[0].payload, "");
  const std::vector<Event> b = Parse(Close(1001, "Hello World!"));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].code, 1001);
  EXPECT_EQ(b[0].payload, "Hello World!");
  const std::string longest(123, 'r');
  const std::vector<Event> c = Parse(Close(3000, longest));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].payload, longest);
  EXPECT_EQ(CloseReplyCode(3000), 3000);
}

TEST(WebSocketParser, RejectsACloseReasonOver123BytesWith1002) {
  // 7.3.6
  const std::vector<Event> events = Parse(Close(1000, std::string(124, 'r')));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(WebSocketParser, RejectsACloseReasonThatIsNotUtf8With1007) {
  // 7.5.1
  const std::vector<Event> events =
      Parse(Close(1000, Hex("cebae1bdb9cf83cebcceb5eda080656469746564")));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
}

TEST(WebSocketParser, IgnoresEverythingAfterAClose) {
  // 7.1.2 - 7.1.5: text, ping, fragments and garbage after the close.
  const std::string wire = Close(1000) + ClientFrame(Opcode::kText, "late") +
                           ClientFrame(Opcode::kPing, "late") +
                           std::string("\xff\xff garbage");
  ExpectSameEventsForPieceSizes(wire, {Ev(Type::kClose, "", 1000)},
                                {wire.size(), 1, 4});
}

TEST(WebSocketParser, DeliversAMessageThenTheCloseThatFollows) {
  // 7.1.6: a large message, then a close, in one read.
  const std::string payload = Pattern(size_t{256} * 1024);
  const std::string wire = ClientFrame(Opcode::kText, payload) + Close(1000);
  ExpectSameEventsForPieceSizes(
      wire, {Ev(Type::kText, payload), Ev(Type::kClose, "", 1000)},
      {wire.size(), 1000});
}

TEST(WebSocketParser, AcceptsACloseInsideAFragmentedMessage) {
  const std::vector<Event> events =
      Parse(ClientFrame(Opcode::kText, "frag", false) + Close(1000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kClose);
}

TEST(WebSocketParser, ClassifiesEveryCloseCodeFrom0To5000) {
  // 7.7.x (valid) and 7.9.x (invalid), extended to the whole range, with
  // IANA's later registrations 1012-1014 valid.
  int valid = 0;
  for (uint32_t code = 0; code <= 5000; ++code) {
    const bool expected_valid = (code >= 1000 && code <= 1003) ||
                                (code >= 1007 && code <= 1014) ||
                                (code >= 3000 && code <= 4999);
    ASSERT_EQ(IsValidReceivedCloseCode(code), expected_valid) << code;
    const std::vector<Event> events =
        Parse(Close(static_cast<uint16_t>(code), "ok"));
    ASSERT_EQ(events.size(), 1u) << code;
    if (expected_valid) {
      ++valid;
      ASSERT_EQ(events[0].type, Type::kClose) << code;
      ASSERT_EQ(events[0].code, code);
      ASSERT_EQ(events[0].payload, "ok");
    } else {
      ASSERT_EQ(events[0].type, Type::kError) << code;
      ASSERT_EQ(events[0].code, close_code::kProtocolError) << code;
    }
  }
  EXPECT_EQ(valid, 4 + 8 + 2000);
  for (uint32_t code : {0u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 1100u,
                        2000u, 2999u, 5000u, 65535u}) {
    EXPECT_FALSE(IsValidReceivedCloseCode(code)) << code;
  }
}

TEST(WebSocketParser, AcceptsTheCloseCodesIanaRegisteredAfterRfc6455) {
  // 1012 Service Restart, 1013 Try Again Later, 1014 Bad Gateway.
  for (uint16_t code : {close_code::kServiceRestart, close_code::kTryAgainLater,
                        close_code::kBadGateway}) {
    EXPECT_TRUE(IsValidReceivedCloseCode(code)) << code;
    const std::vector<Event> events = Parse(Close(code, "later"));
    ASSERT_EQ(events.size(), 1u) << code;
    EXPECT_EQ(events[0].type, Type::kClose) << events[0].Describe();
    EXPECT_EQ(events[0].code, code);
    EXPECT_EQ(events[0].payload, "later");
  }
}

// === Section 9: limits ===================================================

TEST(WebSocketParser, AcceptsAMessageExactlyAtTheSizeLimit) {
  WebSocketParserOptions options;
  options.max_message_size = 1000;
  const std::string payload = Pattern(1000);
  const std::vector<Event> events =
      ParseAsServer(ClientFrame(Opcode::kBinary, payload), options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kBinary);
}

TEST(WebSocketParser, RejectsAnOversizedMessageWith1009BeforeItsPayload) {
  WebSocketParserOptions options;
  options.max_message_size = 1000;
  const std::string wire = ClientFrame(Opcode::kBinary, Pattern(1001));
  WebSocketParser parser = MakeParser(options);
  // Only the 8-byte header (16-bit length + mask) is fed.
  const std::vector<Event> events =
      FeedInPieces(parser, std::string_view(wire).substr(0, 8), 8);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kMessageTooBig);
}

TEST(WebSocketParser, RejectsFragmentsThatAddUpOverTheLimitWith1009) {
  WebSocketParserOptions options;
  options.max_message_size = 1000;
  const std::string wire =
      ClientFrame(Opcode::kText, Pattern(600), false) +
      ClientFrame(Opcode::kContinuation, Pattern(400), false) +
      ClientFrame(Opcode::kContinuation, "x", true);
  const std::vector<Event> events = ParseAsServer(wire, options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kMessageTooBig);
}

TEST(WebSocketParser, RejectsAFrameOverTheFrameLimitWith1009) {
  WebSocketParserOptions options;
  options.max_frame_size = 100;
  const std::vector<Event> ok =
      ParseAsServer(ClientFrame(Opcode::kText, Pattern(100), false) +
                        ClientFrame(Opcode::kContinuation, Pattern(100)),
                    options);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].type, Type::kText);
  const std::vector<Event> too_big =
      ParseAsServer(ClientFrame(Opcode::kText, Pattern(101)), options);
  ASSERT_EQ(too_big.size(), 1u);
  EXPECT_EQ(too_big[0].code, close_code::kMessageTooBig);
}

TEST(WebSocketParser, KeepsReportingTheSameErrorAfterAFailure) {
  WebSocketParser parser = MakeParser();
  std::string bad = RawClientFrame(0x83, "x");
  std::vector<uint8_t> wire(bad.begin(), bad.end());
  const WebSocketEvent first = parser.Parse(wire);
  ASSERT_EQ(first.type, Type::kError);
  EXPECT_TRUE(parser.finished());
  std::string good = ClientFrame(Opcode::kText, "x");
  std::vector<uint8_t> more(good.begin(), good.end());
  const WebSocketEvent again = parser.Parse(more);
  EXPECT_EQ(again.type, Type::kError);
  EXPECT_EQ(again.close_code, first.close_code);
  EXPECT_EQ(again.consumed, 0u);
}

}  // namespace
}  // namespace troupe::net
