// The hand-written EventParser against the reference, protobuf's
// JsonStringToMessage (ignore_unknown_fields), and against simdjson as an
// independent judge of JSON syntax. Every documented difference from
// protobuf is a row of the table with its reason.

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "examples/stream_aggregator/event_parser.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/aggregator.pb.h"
#include "simdjson.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

struct Outcome {
  bool ok = false;
  std::string key;
  int64_t ts_ms = 0;
  double value = 0;
};

Outcome Reference(const std::string& line) {
  Event event;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  Outcome outcome;
  outcome.ok =
      google::protobuf::util::JsonStringToMessage(line, &event, options).ok();
  outcome.key = event.key();
  outcome.ts_ms = event.ts_ms();
  outcome.value = event.value();
  return outcome;
}

struct Mine {
  ParseError error = ParseError::kNone;
  Outcome outcome;
};

Mine Ours(const std::string& line) {
  EventParser parser;
  Event event;
  Mine mine;
  mine.error = parser.Parse(line, &event);
  mine.outcome.ok = mine.error == ParseError::kNone;
  mine.outcome.key = event.key();
  mine.outcome.ts_ms = event.ts_ms();
  mine.outcome.value = event.value();
  return mine;
}

// simdjson's verdict on `line`: a JSON object, not JSON (or not an object),
// or unknown for number errors, since simdjson also refuses valid numbers
// beyond the double range there (number syntax is covered by the table).
enum class Json { kObject, kNotObject, kUnknown };
Json JudgeJson(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  const simdjson::error_code error = parser.parse(line).get(element);
  if (error == simdjson::NUMBER_ERROR ||
      error == simdjson::NUMBER_OUT_OF_RANGE) {
    return Json::kUnknown;
  }
  if (error != simdjson::SUCCESS) return Json::kNotObject;
  return element.type() == simdjson::dom::element_type::OBJECT
             ? Json::kObject
             : Json::kNotObject;
}

// Whether the line is an object with a member named "" at the top level,
// which protobuf rejects ("Proto fields must have a name") and we ignore as
// an unknown field.
bool HasEmptyTopLevelName(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(line).get(object) != simdjson::SUCCESS) return false;
  for (const auto field : object) {
    if (field.key.empty()) return true;
  }
  return false;
}

enum class Relation {
  kAgree,         // same decision, same values
  kRuleNine,      // protobuf accepts; rule 9 rejects (missing/null/NaN/inf)
  kStrictJson,    // protobuf accepts text that is not RFC 8259 JSON
  kExactDecimal,  // protobuf reads the timestamp through a double
  kEmptyName,     // protobuf rejects a top-level field named ""
  kRepeatedName,  // protobuf rejects an `optional` field given twice
};

struct Row {
  std::string line;
  const char* reason;  // our token
  Relation relation;
};

std::string E(const std::string& fields) { return "{" + fields + "}"; }

std::vector<Row> Table() {
  const std::string kv = R"("key":"k","value":1,)";
  const std::string kt = R"("key":"k","tsMs":1,)";
  return {
      // Timestamps: strings, numbers, exponents, limits.
      {E(kv + R"("tsMs":"1764288000123")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":1764288000123)"), "ok", Relation::kAgree},
      {E(kv + R"("ts_ms":"-5")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":"+5")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":"007")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":"-0")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":"\u0031")"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":1e3)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":1.7e12)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":1.0)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":-0.0)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":100e-2)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":9223372036854775807)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":-9223372036854775808)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":9007199254740993)"), "ok", Relation::kAgree},
      {E(kv + R"("tsMs":"1e3")"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":"1.5")"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":"1.0")"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":1.5)"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":1e-3)"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":9223372036854775808)"), "bad_timestamp",
       Relation::kAgree},
      {E(kv + R"("tsMs":"9223372036854775808")"), "bad_timestamp",
       Relation::kAgree},
      {E(kv + R"("tsMs":1e19)"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":"NaN")"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":true)"), "wrong_type", Relation::kAgree},
      {E(kv + R"("tsMs":"soon")"), "wrong_type", Relation::kAgree},
      {E(kv + R"("tsMs":" 5")"), "wrong_type", Relation::kAgree},
      {E(kv + R"("tsMs":"0x10")"), "bad_timestamp", Relation::kAgree},
      {E(kv + R"("tsMs":"")"), "wrong_type", Relation::kAgree},
      // Exact decimal instead of a double: 2^53 + 1, a hidden fraction and
      // a value below INT64_MIN that protobuf clamps.
      {E(kv + R"("tsMs":9.007199254740993e15)"), "ok", Relation::kExactDecimal},
      {E(kv + R"("tsMs":1.0000000000000001)"), "bad_timestamp",
       Relation::kExactDecimal},
      {E(kv + R"("tsMs":-9223372036854775809)"), "bad_timestamp",
       Relation::kExactDecimal},
      {E(kv + R"("tsMs":-9.2233720368547758e18)"), "ok",
       Relation::kExactDecimal},
      {E(kv + R"("tsMs":9.2233720368547758e18)"), "ok",
       Relation::kExactDecimal},
      {E(kv + R"("tsMs":9.2233720368547759e18)"), "bad_timestamp",
       Relation::kAgree},
      // An unknown field with an empty name is still an unknown field.
      {E(kt + R"("value":1,"":{"p":1})"), "ok", Relation::kEmptyName},
      {E(kt + R"("value":1,"x":{"":1})"), "ok", Relation::kAgree},
      // Values: numeric strings are valid protobuf JSON.
      {E(kt + R"("value":21.5)"), "ok", Relation::kAgree},
      {E(kt + R"("value":"21.5")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"1e5")"), "ok", Relation::kAgree},
      {E(kt + R"("value":".5")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"5.")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"+1")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"0x10")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"0x1p4")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"-0x10")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"21.5\t")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"\u0032\u0031")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"1e-400")"), "ok", Relation::kAgree},
      {E(kt + R"("value":"1.7976931348623157e308")"), "ok", Relation::kAgree},
      {E(kt + R"("value":-1E2)"), "ok", Relation::kAgree},
      {E(kt + R"("value":-0.0)"), "ok", Relation::kAgree},
      {E(kt + R"("value":1e-400)"), "ok", Relation::kAgree},
      {E(kt + R"("value":4.9e-324)"), "ok", Relation::kAgree},
      {E(kt + R"("value":1e-99999999999)"), "ok", Relation::kAgree},
      {E(kt + R"("value":1e400)"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":"1e400")"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":"inf")"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":"nan")"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":"infinity")"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":"-NaN")"), "bad_value", Relation::kAgree},
      {E(kt + R"("value":" 21.5")"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":"21.5 ")"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":"")"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":"1e")"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":"0x-1")"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":true)"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":[1])"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":{})"), "wrong_type", Relation::kAgree},
      {E(kt + R"("value":01)"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":.5)"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":+1)"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":NaN)"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":1e)"), "malformed_json", Relation::kAgree},
      // Rule 9 rejects what protobuf accepts.
      {E(kt + R"("value":"NaN")"), "bad_value", Relation::kRuleNine},
      {E(kt + R"("value":"Infinity")"), "bad_value", Relation::kRuleNine},
      {E(kt + R"("value":"-Infinity")"), "bad_value", Relation::kRuleNine},
      {E(kt + R"("value":null)"), "missing_field", Relation::kRuleNine},
      {E(R"("key":"k","tsMs":1)"), "missing_field", Relation::kRuleNine},
      {E(R"("tsMs":1,"value":1)"), "missing_field", Relation::kRuleNine},
      {E(R"("key":null,"tsMs":1,"value":1)"), "missing_field",
       Relation::kRuleNine},
      {"{}", "missing_field", Relation::kRuleNine},
      // Keys: types, escapes, unicode, duplicates.
      {E(R"("key":1,"tsMs":1,"value":1)"), "wrong_type", Relation::kAgree},
      {E(R"("key":true,"tsMs":1,"value":1)"), "wrong_type", Relation::kAgree},
      {E(R"("\u006bey":"k","tsMs":1,"value":1)"), "ok", Relation::kAgree},
      {E(R"("key":"a\u00e9\ud83d\ude00","tsMs":1,"value":1)"), "ok",
       Relation::kAgree},
      {E(R"("key":"a\u0000b","tsMs":1,"value":1)"), "ok", Relation::kAgree},
      {E("\"key\":\"caf\xc3\xa9\",\"tsMs\":1,\"value\":1"), "ok",
       Relation::kAgree},
      {E(R"("key":"a\ud83d","tsMs":1,"value":1)"), "malformed_json",
       Relation::kAgree},
      {E(R"("key":"a\ude00","tsMs":1,"value":1)"), "malformed_json",
       Relation::kAgree},
      {E("\"key\":\"a\xff\",\"tsMs\":1,\"value\":1"), "malformed_json",
       Relation::kAgree},
      {E(R"("key":"a","key":"b","tsMs":1,"value":1)"), "ok",
       Relation::kRepeatedName},
      {E(R"("key":"a","tsMs":1,"ts_ms":2,"value":1)"), "ok",
       Relation::kRepeatedName},
      {E(R"("key":"a","ts_ms":2,"tsMs":1,"value":1)"), "ok",
       Relation::kRepeatedName},
      {E(R"("key":"a","tsMs":1,"value":1,"value":2)"), "ok",
       Relation::kRepeatedName},
      {E(R"("key":"a","tsMs":1,"value":1,"key":null)"), "ok", Relation::kAgree},
      {E(R"("key":"a","tsMs":null,"ts_ms":5,"value":1)"), "ok",
       Relation::kAgree},
      {E(R"("Key":"a","key":"b","TsMs":1,"tsMs":2,"value":1)"), "ok",
       Relation::kAgree},
      // Whole-line syntax.
      {" " + E(kt + R"("value":1)") + " \t\r", "ok", Relation::kAgree},
      {E(kt + R"("value":1)") + "x", "malformed_json", Relation::kAgree},
      {E(kt + R"("value":1)") + "{}", "malformed_json", Relation::kAgree},
      {E(kt + R"("value":1,"x":{"y":[1,2,{"z":null}]})"), "ok",
       Relation::kAgree},
      {E(kt + R"("value":1,"x":tru)"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":1,"x":[1 2])"), "malformed_json", Relation::kAgree},
      {E(kt + R"("value":1,"x":"\u12")"), "malformed_json", Relation::kAgree},
      {"", "malformed_json", Relation::kAgree},
      {"[]", "malformed_json", Relation::kAgree},
      {"null", "malformed_json", Relation::kAgree},
      {"\xef\xbb\xbf" + E(kt + R"("value":1)"), "malformed_json",
       Relation::kAgree},
      // Leniencies of protobuf's parser that strict JSON rejects.
      {E(kt + R"("value":1,)"), "malformed_json", Relation::kStrictJson},
      {E(R"(key:"k","tsMs":1,"value":1)"), "malformed_json",
       Relation::kStrictJson},
      {E(R"('key':'k','tsMs':1,'value':1)"), "malformed_json",
       Relation::kStrictJson},
      {E(kt + R"("value":1.)"), "malformed_json", Relation::kStrictJson},
      {E(kt + R"("value":1,"x":[1,])"), "malformed_json",
       Relation::kStrictJson},
      {E(kt + R"("value":1,"x":"\x")"), "malformed_json",
       Relation::kStrictJson},
      {E("\"key\":\"a\x01\",\"tsMs\":1,\"value\":1"), "malformed_json",
       Relation::kStrictJson},
      {"\f" + E(kt + R"("value":1)"), "malformed_json", Relation::kStrictJson},
  };
}

TEST(EventParserProtobufTest, EveryTableRowMatchesProtobufOrItsDocumentedRule) {
  for (const Row& row : Table()) {
    SCOPED_TRACE(row.line);
    const Outcome reference = Reference(row.line);
    const Mine mine = Ours(row.line);
    EXPECT_EQ(ParseErrorToken(mine.error), row.reason);
    switch (row.relation) {
      case Relation::kAgree:
        EXPECT_EQ(mine.outcome.ok, reference.ok);
        if (mine.outcome.ok && reference.ok) {
          EXPECT_EQ(mine.outcome.key, reference.key);
          EXPECT_EQ(mine.outcome.ts_ms, reference.ts_ms);
          EXPECT_EQ(mine.outcome.value, reference.value);
          EXPECT_EQ(std::signbit(mine.outcome.value),
                    std::signbit(reference.value));
        }
        break;
      case Relation::kRuleNine:
        EXPECT_TRUE(reference.ok);
        EXPECT_FALSE(mine.outcome.ok);
        break;
      case Relation::kStrictJson:
        EXPECT_TRUE(reference.ok);
        EXPECT_NE(JudgeJson(row.line), Json::kObject) << "simdjson accepts";
        EXPECT_FALSE(mine.outcome.ok);
        break;
      case Relation::kExactDecimal:
        // Different decisions, or both accept with different timestamps.
        EXPECT_TRUE(mine.outcome.ok != reference.ok ||
                    (mine.outcome.ok && mine.outcome.ts_ms != reference.ts_ms));
        break;
      case Relation::kEmptyName:
        EXPECT_FALSE(reference.ok);
        EXPECT_TRUE(mine.outcome.ok);
        EXPECT_TRUE(HasEmptyTopLevelName(row.line));
        break;
      case Relation::kRepeatedName:
        // The fields are proto3 `optional` (for presence in binary frames),
        // which protobuf's JSON parser treats as one-field oneofs: a second
        // value of one is an error there. We keep the last value.
        EXPECT_FALSE(reference.ok);
        EXPECT_TRUE(mine.outcome.ok);
        break;
    }
  }
}

TEST(EventParserProtobufTest, MalformedJsonIsExactlyWhatSimdjsonRejects) {
  int judged = 0;
  for (const Row& row : Table()) {
    const Json json = JudgeJson(row.line);
    if (json == Json::kUnknown) continue;
    ++judged;
    const bool malformed = Ours(row.line).error == ParseError::kMalformedJson;
    EXPECT_EQ(malformed, json == Json::kNotObject) << row.line;
  }
  EXPECT_GT(judged, 100);
}

// Random single-byte edits of valid lines: our parser never accepts a line
// protobuf rejects (but for the empty field name), agrees on every value it
// accepts, calls a line malformed exactly when simdjson does, and rejects a
// line protobuf accepts only for a documented reason.
TEST(EventParserProtobufTest,
     RandomEditsOfValidLinesNeverContradictTheReference) {
  const std::vector<std::string> bases = {
      R"({"key":"sensor-7","tsMs":"1764288000123","value":21.5})",
      R"({"key":"a\u00e9\"b","ts_ms":1764288000123,"value":"-2.5e3"})",
      R"({ "value" : 0.001 , "key" : "x" , "tsMs" : -17 , "n" : [true,null] })",
      R"({"key":"k","tsMs":1.7e12,"value":-0,"o":{"p":"q\n"}})",
  };
  const std::string alphabet =
      "{}[]\":,.-+eE0123456789 \\untrfalsx\x01\xc3\xa9";
  std::mt19937_64 rng(testing::TestSeed(20251128));
  int accepted = 0;
  int malformed = 0;
  int other = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = bases[rng() % bases.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const size_t at = rng() % line.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          line.erase(at, 1);
          break;
        case 1:
          line.insert(at, 1, c);
          break;
        default:
          line[at] = c;
      }
    }
    SCOPED_TRACE(line);
    const Outcome reference = Reference(line);
    const Mine mine = Ours(line);
    const Json json = JudgeJson(line);
    if (json != Json::kUnknown) {
      EXPECT_EQ(mine.error == ParseError::kMalformedJson,
                json == Json::kNotObject);
    }
    if (mine.outcome.ok) {
      ++accepted;
      if (!reference.ok && HasEmptyTopLevelName(line)) continue;
      ASSERT_TRUE(reference.ok);
      EXPECT_EQ(mine.outcome.key, reference.key);
      EXPECT_EQ(mine.outcome.ts_ms, reference.ts_ms);
      EXPECT_EQ(mine.outcome.value, reference.value);
    } else if (mine.error == ParseError::kMalformedJson) {
      ++malformed;
    } else {
      ++other;
      if (reference.ok) {
        // Only rule 9 may reject what protobuf accepts.
        const bool rule_nine = mine.error == ParseError::kMissingField ||
                               (mine.error == ParseError::kBadValue &&
                                (line.find("NaN") != std::string::npos ||
                                 line.find("Infinity") != std::string::npos));
        EXPECT_TRUE(rule_nine) << ParseErrorToken(mine.error);
      }
    }
  }
  // The edits reach every kind of outcome.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(malformed, 1000);
  EXPECT_GT(other, 100);
}

}  // namespace
}  // namespace troupe::aggregator
