// Helpers shared by the stream aggregator's tests: building input lines and
// reading output lines back with an independent JSON parser (simdjson), so
// that tests check the printed JSON, not the formatter's own view of it.
//
// Example:
//   std::string line = EventLine("a", 1000, 2.5);
//   ResultLine r = ReadResultLine(output_line);  // fails the test if the
//                                                // line is not rule-7 JSON

#ifndef TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_TEST_UTIL_H_
#define TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_TEST_UTIL_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "examples/stream_aggregator/sequential_driver.h"
#include "examples/stream_aggregator/window_spec.h"
#include "proto/aggregator.pb.h"

namespace troupe::aggregator::testing {

// {"key":<key>,"tsMs":<ts>,"value":<value>} with the value in shortest form.
std::string EventLine(std::string_view key, int64_t ts_ms, double value);

// The same event as a protobuf message, every field set.
Event MakeEvent(std::string_view key, int64_t ts_ms, double value);

// Joins lines with '\n' after each.
std::string Lines(const std::vector<std::string>& lines);

// An output line, read back.
struct ResultLine {
  std::string key;
  int64_t start = 0;
  int64_t end = 0;
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  int64_t revision = 0;
};
std::ostream& operator<<(std::ostream& os, const ResultLine& line);

// Parses a rule-7 line; adds a gtest failure (and returns what it could) if
// a field is missing, has the wrong JSON type, or the line is not JSON.
ResultLine ReadResultLine(std::string_view line);
std::vector<ResultLine> ReadResultLines(const std::vector<std::string>& lines);

// What a single-input SequentialAggregator printed after each line.
struct StepOutput {
  // results[i]: lines printed while handling input line i; the last entry
  // holds the lines printed by Finish().
  std::vector<std::vector<ResultLine>> results;
  std::vector<std::string> late;
  Counters counters;

  // Every result line, in order.
  std::vector<ResultLine> All() const;
};
StepOutput RunByStep(const std::vector<std::string>& lines,
                     const AggregatorOptions& options);

// The window spec `text` (must parse).
WindowSpec Spec(std::string_view text);

// Options for `spec` with the given out-of-orderness and lateness.
AggregatorOptions Options(std::string_view spec, int64_t max_ooo_ms = 0,
                          int64_t allowed_lateness_ms = 0);

// The test seed: TROUPE_TEST_SEED if set, else `fallback`.
uint64_t TestSeed(uint64_t fallback);

}  // namespace troupe::aggregator::testing

#endif  // TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_TEST_UTIL_H_
