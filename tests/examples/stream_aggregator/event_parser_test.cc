// EventParser: what it accepts, and the reason it gives for each bad line.

#include "examples/stream_aggregator/event_parser.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

struct Parsed {
  ParseError error = ParseError::kNone;
  std::string key;
  int64_t ts_ms = 0;
  double value = 0;
};

Parsed ParseLine(const std::string& line) {
  EventParser parser;
  EventView view;
  Parsed parsed;
  parsed.error = parser.Parse(line, &view);
  if (parsed.error == ParseError::kNone) {
    parsed.key = std::string(view.key);
    parsed.ts_ms = view.ts_ms;
    parsed.value = view.value;
  }
  return parsed;
}

std::string ReasonOf(const std::string& line) {
  return std::string(ParseErrorToken(ParseLine(line).error));
}

TEST(EventParserTest, TheCanonicalProtobufJsonFormIsAccepted) {
  const Parsed p = ParseLine(
      R"({"key": "sensor-7", "tsMs": "1764288000123", "value": 21.5})");
  ASSERT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.key, "sensor-7");
  EXPECT_EQ(p.ts_ms, 1764288000123);
  EXPECT_EQ(p.value, 21.5);
}

TEST(EventParserTest, TheProtoFieldNameAndANumericTimestampAreAccepted) {
  const Parsed p = ParseLine(R"({"key":"k","ts_ms":1764288000123,"value":-3})");
  ASSERT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.ts_ms, 1764288000123);
  EXPECT_EQ(p.value, -3);
}

TEST(EventParserTest, UnknownFieldsOfAnyShapeAreIgnored) {
  const Parsed p = ParseLine(
      R"({"unit":"C","key":"k","tags":{"a":[1,2.5e3,{"b":null}],"c":true},)"
      R"("tsMs":5,"value":1,"more":[]})");
  ASSERT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.key, "k");
}

TEST(EventParserTest, ANumericStringValueIsAccepted) {
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1,"value":"21.5"})").value, 21.5);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1,"value":"-1e3"})").value, -1000);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1,"value":"0x10"})").value, 16);
}

TEST(EventParserTest, IntegralNumbersInExponentFormAreTimestamps) {
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1.7e12,"value":1})").ts_ms,
            1'700'000'000'000);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1.0,"value":1})").ts_ms, 1);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":100e-2,"value":1})").ts_ms, 1);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":-1E3,"value":1})").ts_ms, -1000);
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":0.0e99999,"value":1})").ts_ms, 0);
  // Exact, not through a double: 2^53 + 1.
  EXPECT_EQ(
      ParseLine(R"({"key":"k","tsMs":9.007199254740993e15,"value":1})").ts_ms,
      9'007'199'254'740'993);
}

TEST(EventParserTest, TheInt64RangeIsAcceptedToItsEnds) {
  EXPECT_EQ(
      ParseLine(R"({"key":"k","tsMs":9223372036854775807,"value":1})").ts_ms,
      std::numeric_limits<int64_t>::max());
  EXPECT_EQ(
      ParseLine(R"({"key":"k","tsMs":"-9223372036854775808","value":1})").ts_ms,
      std::numeric_limits<int64_t>::min());
}

TEST(EventParserTest, EscapedKeysAreDecoded) {
  EXPECT_EQ(
      ParseLine(
          R"({"key":"a\"b\\c\/d\n\u00e9\ud83d\ude00","tsMs":1,"value":1})")
          .key,
      "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(ParseLine(R"({"\u006bey":"k","tsMs":1,"value":1})").key, "k");
  EXPECT_EQ(ParseLine("{\"key\":\"caf\xc3\xa9\",\"tsMs\":1,\"value\":1}").key,
            "caf\xc3\xa9");
  EXPECT_EQ(ParseLine(R"({"key":"","tsMs":1,"value":1})").error,
            ParseError::kNone);
}

TEST(EventParserTest, TheLastOfDuplicateFieldsWins) {
  const Parsed p = ParseLine(
      R"({"key":"a","key":"b","tsMs":1,"ts_ms":2,"value":3,"value":4})");
  ASSERT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.key, "b");
  EXPECT_EQ(p.ts_ms, 2);
  EXPECT_EQ(p.value, 4);
}

TEST(EventParserTest, JsonWhitespaceAroundTheObjectAndACarriageReturnAreFine) {
  EXPECT_EQ(
      ReasonOf(" \t{ \"key\" : \"k\" , \"tsMs\" : 1 , \"value\" : 1 } \r"),
      "ok");
}

TEST(EventParserTest, TooSmallValuesBecomeZeroOfTheSameSign) {
  const Parsed p = ParseLine(R"({"key":"k","tsMs":1,"value":-1e-400})");
  ASSERT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.value, 0);
  EXPECT_TRUE(std::signbit(p.value));
  EXPECT_EQ(ParseLine(R"({"key":"k","tsMs":1,"value":4.9e-324})").value,
            std::numeric_limits<double>::denorm_min());
}

// Rule 9, reason by reason.

TEST(EventParserTest, SyntaxErrorsAreMalformedJson) {
  for (const char* line : {
           "",
           "   ",
           "not json",
           "[]",
           "null",
           R"({"key":"k","tsMs":1,"value":1)",
           R"({"key":"k","tsMs":1,"value":1}})",
           R"({"key":"k","tsMs":1,"value":1,})",
           R"({"key":"k",,"tsMs":1,"value":1})",
           R"({"key":"k" "tsMs":1,"value":1})",
           R"({key:"k","tsMs":1,"value":1})",
           R"({'key':'k','tsMs':1,'value':1})",
           R"({"key":"k","tsMs":01,"value":1})",
           R"({"key":"k","tsMs":1,"value":1.})",
           R"({"key":"k","tsMs":1,"value":.5})",
           R"({"key":"k","tsMs":1,"value":+1})",
           R"({"key":"k","tsMs":1,"value":1e})",
           R"({"key":"k","tsMs":1,"value":NaN})",
           R"({"key":"k","tsMs":1,"value":Infinity})",
           R"({"key":"k","tsMs":1,"value":1,"x":tru})",
           R"({"key":"k","tsMs":1,"value":1,"x":[1,]})",
           R"({"key":"k","tsMs":1,"value":1,"x":[1 2]})",
           R"({"key":"k","tsMs":1,"value":1,"x":{"a" 1}})",
           R"({"key":"k","tsMs":1,"value":1,"x":"\x"})",
           R"({"key":"k","tsMs":1,"value":1,"x":"\u12"})",
           R"({"key":"k\ud83d","tsMs":1,"value":1})",
           R"({"key":"k\ude00","tsMs":1,"value":1})",
           "{\"key\":\"k\x01\",\"tsMs\":1,\"value\":1}",
           "{\"key\":\"k\xff\",\"tsMs\":1,\"value\":1}",
           "{\"key\":\"k\xc0\xaf\",\"tsMs\":1,\"value\":1}",
           "{\"key\":\"k\xed\xa0\x80\",\"tsMs\":1,\"value\":1}",
           "{\"key\":\"k\xf4\x90\x80\x80\",\"tsMs\":1,\"value\":1}",
           "{\"key\":\"k\xe2\x82\",\"tsMs\":1,\"value\":1}",
           "\xef\xbb\xbf{\"key\":\"k\",\"tsMs\":1,\"value\":1}",
           "\f{\"key\":\"k\",\"tsMs\":1,\"value\":1}",
       }) {
    EXPECT_EQ(ReasonOf(line), "malformed_json") << line;
  }
}

TEST(EventParserTest, TrailingCharactersAfterTheObjectAreMalformed) {
  EXPECT_EQ(ReasonOf(R"({"key":"k","tsMs":1,"value":1}x)"), "malformed_json");
  EXPECT_EQ(ReasonOf(R"({"key":"k","tsMs":1,"value":1}{})"), "malformed_json");
  EXPECT_EQ(ReasonOf(R"({"key":"k","tsMs":1,"value":1} ,)"), "malformed_json");
  EXPECT_EQ(ReasonOf(std::string(R"({"key":"k","tsMs":1,"value":1})") + '\0'),
            "malformed_json");
}

TEST(EventParserTest, MissingOrNullFieldsAreMissingField) {
  for (const char* line : {
           R"({})",
           R"({"tsMs":1,"value":1})",
           R"({"key":"k","value":1})",
           R"({"key":"k","tsMs":1})",
           R"({"key":null,"tsMs":1,"value":1})",
           R"({"key":"k","tsMs":null,"value":1})",
           R"({"key":"k","ts_ms":null,"value":1})",
           R"({"key":"k","tsMs":1,"value":null})",
           R"({"Key":"k","tsMs":1,"value":1})",
           R"({"key":"k","tsms":1,"value":1})",
       }) {
    EXPECT_EQ(ReasonOf(line), "missing_field") << line;
  }
}

TEST(EventParserTest, FractionalOrOutOfRangeTimestampsAreBadTimestamp) {
  for (const char* line : {
           R"({"key":"k","tsMs":1.5,"value":1})",
           R"({"key":"k","tsMs":1e-3,"value":1})",
           R"({"key":"k","tsMs":1.0000000000000001,"value":1})",
           R"({"key":"k","tsMs":"1.5","value":1})",
           R"({"key":"k","tsMs":"1e3","value":1})",
           R"({"key":"k","tsMs":"NaN","value":1})",
           R"({"key":"k","tsMs":9223372036854775808,"value":1})",
           R"({"key":"k","tsMs":-9223372036854775809,"value":1})",
           R"({"key":"k","tsMs":"9223372036854775808","value":1})",
           R"({"key":"k","tsMs":1e19,"value":1})",
           R"({"key":"k","tsMs":1e999999999,"value":1})",
       }) {
    EXPECT_EQ(ReasonOf(line), "bad_timestamp") << line;
  }
}

TEST(EventParserTest, NanAndInfiniteValuesAreBadValue) {
  for (const char* line : {
           R"({"key":"k","tsMs":1,"value":"NaN"})",
           R"({"key":"k","tsMs":1,"value":"Infinity"})",
           R"({"key":"k","tsMs":1,"value":"-Infinity"})",
           R"({"key":"k","tsMs":1,"value":"inf"})",
           R"({"key":"k","tsMs":1,"value":"nan"})",
           R"({"key":"k","tsMs":1,"value":1e400})",
           R"({"key":"k","tsMs":1,"value":-1e400})",
           R"({"key":"k","tsMs":1,"value":"1e400"})",
           R"({"key":"k","tsMs":1,"value":1.7976931348623159e308})",
       }) {
    EXPECT_EQ(ReasonOf(line), "bad_value") << line;
  }
}

TEST(EventParserTest, ValuesOfTheWrongJsonTypeAreWrongType) {
  for (const char* line : {
           R"({"key":1,"tsMs":1,"value":1})",
           R"({"key":true,"tsMs":1,"value":1})",
           R"({"key":["k"],"tsMs":1,"value":1})",
           R"({"key":{"k":1},"tsMs":1,"value":1})",
           R"({"key":"k","tsMs":true,"value":1})",
           R"({"key":"k","tsMs":[1],"value":1})",
           R"({"key":"k","tsMs":"soon","value":1})",
           R"({"key":"k","tsMs":"","value":1})",
           R"({"key":"k","tsMs":" 5","value":1})",
           R"({"key":"k","tsMs":1,"value":false})",
           R"({"key":"k","tsMs":1,"value":{}})",
           R"({"key":"k","tsMs":1,"value":"abc"})",
           R"({"key":"k","tsMs":1,"value":""})",
           R"({"key":"k","tsMs":1,"value":" 21.5"})",
           R"({"key":"k","tsMs":1,"value":"21.5 "})",
           R"({"key":"k","tsMs":1,"value":"1_0"})",
       }) {
    EXPECT_EQ(ReasonOf(line), "wrong_type") << line;
  }
}

TEST(EventParserTest, SyntaxErrorsTakePrecedenceOverContentErrors) {
  EXPECT_EQ(ReasonOf(R"({"key":1,"tsMs":1.5,"value":"NaN"} x)"),
            "malformed_json");
}

TEST(EventParserTest, TheFirstBadFieldInTheLineDecidesTheReason) {
  EXPECT_EQ(ReasonOf(R"({"tsMs":1.5,"key":1,"value":"NaN"})"), "bad_timestamp");
  EXPECT_EQ(ReasonOf(R"({"value":"NaN","tsMs":1.5,"key":1})"), "bad_value");
  EXPECT_EQ(ReasonOf(R"({"key":1})"), "wrong_type");
}

TEST(EventParserTest, AnEscapedKeyStaysValidUntilTheNextParse) {
  EventParser parser;
  EventView first;
  ASSERT_EQ(parser.Parse(R"({"key":"a\u0062","tsMs":1,"value":1})", &first),
            ParseError::kNone);
  EXPECT_EQ(first.key, "ab");
  // Strings of other fields do not overwrite the decoded key.
  EventView second;
  ASSERT_EQ(parser.Parse(R"({"key":"c\u0064","x":"\u0065","tsMs":"\u0031",)"
                         R"("value":"\u0032"})",
                         &second),
            ParseError::kNone);
  EXPECT_EQ(second.key, "cd");
  EXPECT_EQ(second.ts_ms, 1);
  EXPECT_EQ(second.value, 2);
}

TEST(EventParserTest, TheProtoOverloadFillsTheMessage) {
  EventParser parser;
  Event event;
  ASSERT_EQ(parser.Parse(R"({"key":"k","tsMs":"7","value":"2.5"})", &event),
            ParseError::kNone);
  EXPECT_EQ(event.key(), "k");
  EXPECT_EQ(event.ts_ms(), 7);
  EXPECT_EQ(event.value(), 2.5);
}

TEST(EventParserTest, DeeplyNestedUnknownFieldsDoNotOverflowTheStack) {
  std::string line = R"({"key":"k","tsMs":1,"value":1,"x":)";
  line += std::string(100'000, '[') + std::string(100'000, ']') + "}";
  EXPECT_EQ(ReasonOf(line), "ok");
  line.insert(line.size() - 50, ",");
  EXPECT_EQ(ReasonOf(line), "malformed_json");
}

TEST(EventParserTest, EveryReasonHasADocumentedToken) {
  EXPECT_EQ(ParseErrorToken(ParseError::kNone), "ok");
  EXPECT_EQ(ParseErrorToken(ParseError::kMalformedJson), "malformed_json");
  EXPECT_EQ(ParseErrorToken(ParseError::kMissingField), "missing_field");
  EXPECT_EQ(ParseErrorToken(ParseError::kWrongType), "wrong_type");
  EXPECT_EQ(ParseErrorToken(ParseError::kBadTimestamp), "bad_timestamp");
  EXPECT_EQ(ParseErrorToken(ParseError::kBadValue), "bad_value");
}

}  // namespace
}  // namespace troupe::aggregator
