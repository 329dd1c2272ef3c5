// One binary frame's payload as an event (event_frame.h): what protobuf
// writes for an Event reads back; absent fields (presence through proto3
// `optional`) are missing_field; zero values and an empty key are values;
// non-finite values, undecodable bytes and invalid UTF-8 are rejected.

#include "examples/stream_aggregator/event_frame.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "proto/aggregator.pb.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

std::string Serialized(const Event& event) {
  std::string out;
  EXPECT_TRUE(event.SerializeToString(&out));
  return out;
}

using testing::MakeEvent;

TEST(EventFrameParserTest, ReadsWhatProtobufWrote) {
  EventFrameParser parser;
  EventView view;
  ASSERT_EQ(
      parser.Parse(Serialized(MakeEvent("sensor-7", 1'764'288'000'123, 21.5)),
                   &view),
      ParseError::kNone);
  EXPECT_EQ(view.key, "sensor-7");
  EXPECT_EQ(view.ts_ms, 1'764'288'000'123);
  EXPECT_EQ(view.value, 21.5);
  ASSERT_EQ(parser.Parse(Serialized(MakeEvent("k", -5, -0.25)), &view),
            ParseError::kNone);
  EXPECT_EQ(view.ts_ms, -5);
  EXPECT_EQ(view.value, -0.25);
}

TEST(EventFrameParserTest, ZeroValuesAndAnEmptyKeyAreSentAndAccepted) {
  const Event zero = MakeEvent("", 0, 0.0);
  const std::string bytes = Serialized(zero);
  EXPECT_FALSE(bytes.empty());  // `optional`: set fields are written
  EventFrameParser parser;
  EventView view;
  ASSERT_EQ(parser.Parse(bytes, &view), ParseError::kNone);
  EXPECT_EQ(view.key, "");
  EXPECT_EQ(view.ts_ms, 0);
  EXPECT_EQ(view.value, 0.0);
}

TEST(EventFrameParserTest, AnAbsentFieldIsMissing) {
  EventFrameParser parser;
  EventView view;
  EXPECT_EQ(parser.Parse("", &view), ParseError::kMissingField);
  Event no_key = MakeEvent("a", 1, 2);
  no_key.clear_key();
  EXPECT_EQ(parser.Parse(Serialized(no_key), &view), ParseError::kMissingField);
  Event no_ts = MakeEvent("a", 1, 2);
  no_ts.clear_ts_ms();
  EXPECT_EQ(parser.Parse(Serialized(no_ts), &view), ParseError::kMissingField);
  Event no_value = MakeEvent("a", 1, 2);
  no_value.clear_value();
  EXPECT_EQ(parser.Parse(Serialized(no_value), &view),
            ParseError::kMissingField);
}

TEST(EventFrameParserTest, PresenceIsResetBetweenFrames) {
  EventFrameParser parser;
  EventView view;
  ASSERT_EQ(parser.Parse(Serialized(MakeEvent("a", 1, 2)), &view),
            ParseError::kNone);
  Event no_value = MakeEvent("a", 1, 2);
  no_value.clear_value();
  EXPECT_EQ(parser.Parse(Serialized(no_value), &view),
            ParseError::kMissingField);
}

TEST(EventFrameParserTest, AFieldOfTheWrongWireTypeIsMissing) {
  // key, ts_ms, then field 3 as a varint (tag 0x18) instead of a double.
  const std::string bytes("\x0a\x01k\x10\x05\x18\x07", 7);
  EventFrameParser parser;
  EventView view;
  EXPECT_EQ(parser.Parse(bytes, &view), ParseError::kMissingField);
}

TEST(EventFrameParserTest, UnknownFieldsAreIgnored) {
  // Field 9 (a varint) before the event's own fields.
  const std::string bytes =
      std::string("\x48\x01", 2) + Serialized(MakeEvent("a", 1, 2));
  EventFrameParser parser;
  EventView view;
  ASSERT_EQ(parser.Parse(bytes, &view), ParseError::kNone);
  EXPECT_EQ(view.key, "a");
}

TEST(EventFrameParserTest, NonFiniteValuesAreBadValues) {
  EventFrameParser parser;
  EventView view;
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(parser.Parse(Serialized(MakeEvent("a", 1, bad)), &view),
              ParseError::kBadValue)
        << bad;
  }
}

TEST(EventFrameParserTest, BytesThatAreNotAnEventAreMalformed) {
  EventFrameParser parser;
  EventView view;
  // A truncated field: key of length 5 with 2 bytes.
  EXPECT_EQ(parser.Parse(std::string("\x0a\x05"
                                     "ab",
                                     4),
                         &view),
            ParseError::kMalformedProtobuf);
  // Field number 0.
  EXPECT_EQ(parser.Parse(std::string("\x00\x01", 2), &view),
            ParseError::kMalformedProtobuf);
  // Text.
  EXPECT_EQ(parser.Parse("{\"key\":\"a\",\"tsMs\":1,\"value\":2}", &view),
            ParseError::kMalformedProtobuf);
  // A key that is not UTF-8 (proto3 strings must be).
  const std::string bytes = std::string("\x0a\x02\xc3\x28", 4) +
                            Serialized(MakeEvent("a", 1, 2)).substr(3);
  EXPECT_EQ(parser.Parse(bytes, &view), ParseError::kMalformedProtobuf);
}

}  // namespace
}  // namespace troupe::aggregator
