// The output line of rule 7: fields, JSON types, number forms, escaping.

#include "examples/stream_aggregator/result_format.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

WindowResult Example() {
  WindowResult r;
  r.key = "sensor-7";
  r.window_start_ms = 1'764'288'000'000;
  r.window_end_ms = 1'764'288'010'000;
  r.count = 3;
  r.sum = 64.5;
  r.min = 21;
  r.max = 22;
  r.mean = 21.5;
  r.p50 = 21.5;
  r.p90 = 22;
  r.p99 = 22;
  r.revision = 0;
  return r;
}

TEST(ResultFormatTest, ALineHasEveryFieldInOrder) {
  EXPECT_EQ(FormatResultLine(Example()),
            R"({"key":"sensor-7","windowStartMs":1764288000000,)"
            R"("windowEndMs":1764288010000,"count":3,"sum":64.5,"min":21,)"
            R"("max":22,"mean":21.5,"p50":21.5,"p90":22,"p99":22,)"
            R"("revision":0})");
}

TEST(ResultFormatTest, IntegersAreJsonIntegersAndTheRestJsonNumbers) {
  WindowResult r = Example();
  r.window_start_ms = -20'000;
  r.window_end_ms = -10'000;
  r.revision = 12;
  const testing::ResultLine line = testing::ReadResultLine(FormatResultLine(r));
  EXPECT_EQ(line.key, "sensor-7");
  EXPECT_EQ(line.start, -20'000);
  EXPECT_EQ(line.end, -10'000);
  EXPECT_EQ(line.count, 3u);
  EXPECT_EQ(line.sum, 64.5);
  EXPECT_EQ(line.revision, 12);
}

TEST(ResultFormatTest, DoublesUseTheShortestFormThatRoundTrips) {
  for (double v : {0.1, 1.0 / 3, 1e21, 1e-7, -2.5e-300, 5e-324,
                   std::numeric_limits<double>::max(), 123456789.123}) {
    std::string text;
    AppendJsonNumber(v, &text);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
    EXPECT_LE(text.size(), 24u) << text;
  }
  std::string text;
  AppendJsonNumber(0.1, &text);
  EXPECT_EQ(text, "0.1");
  text.clear();
  AppendJsonNumber(-0.0, &text);
  EXPECT_EQ(text, "-0");
}

TEST(ResultFormatTest, ASumBeyondTheDoubleRangeIsStillAFiniteNumber) {
  WindowResult r = Example();
  r.sum = static_cast<long double>(std::numeric_limits<double>::max()) * 3;
  const std::string line = FormatResultLine(r);
  EXPECT_EQ(line.find("inf"), std::string::npos) << line;
  const size_t at = line.find("\"sum\":") + 6;
  const long double sum = std::strtold(line.c_str() + at, nullptr);
  EXPECT_EQ(sum, r.sum) << line;
  EXPECT_NE(line.find("e+308"), std::string::npos) << line;
}

TEST(ResultFormatTest, NonFiniteInputsNeverPrintNanOrInf) {
  std::string text;
  AppendJsonNumber(std::numeric_limits<double>::quiet_NaN(), &text);
  EXPECT_EQ(text, "0");
  text.clear();
  AppendJsonNumber(-std::numeric_limits<double>::infinity(), &text);
  EXPECT_EQ(text, "-1.7976931348623157e+308");
  text.clear();
  AppendJsonNumber(std::numeric_limits<long double>::infinity(), &text);
  EXPECT_EQ(text, "1.7976931348623157e+308");
}

TEST(ResultFormatTest, KeysAreJsonEscaped) {
  std::string text;
  AppendJsonString("a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80", &text);
  EXPECT_EQ(text,
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xc3\xa9\xf0\x9f\x98\x80\"");
  WindowResult r = Example();
  const std::string key("we\"ird\nkey\0x", 12);
  r.key = key;
  EXPECT_EQ(testing::ReadResultLine(FormatResultLine(r)).key, key);
}

TEST(ResultFormatTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  std::string text;
  AppendJsonString("a\xff\xc3(\xed\xa0\x80z", &text);
  EXPECT_EQ(text, "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdz\"");
}

}  // namespace
}  // namespace troupe::aggregator
