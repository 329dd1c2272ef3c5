#include "tests/examples/stream_aggregator/test_util.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/stream_aggregator/result_format.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace troupe::aggregator::testing {

std::string EventLine(std::string_view key, int64_t ts_ms, double value) {
  std::string line = "{\"key\":";
  AppendJsonString(key, &line);
  line += ",\"tsMs\":" + std::to_string(ts_ms) + ",\"value\":";
  AppendJsonNumber(value, &line);
  line += "}";
  return line;
}

Event MakeEvent(std::string_view key, int64_t ts_ms, double value) {
  Event event;
  event.set_key(std::string(key));
  event.set_ts_ms(ts_ms);
  event.set_value(value);
  return event;
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

std::ostream& operator<<(std::ostream& os, const ResultLine& line) {
  return os << "{" << line.key << " [" << line.start << "," << line.end
            << ") n=" << line.count << " sum=" << line.sum
            << " min=" << line.min << " max=" << line.max
            << " mean=" << line.mean << " p50=" << line.p50
            << " p90=" << line.p90 << " p99=" << line.p99
            << " rev=" << line.revision << "}";
}

ResultLine ReadResultLine(std::string_view line) {
  ResultLine result;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string padded(line.data(), line.size());
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not JSON: " << line;
    return result;
  }
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not an object: " << line;
    return result;
  }
  EXPECT_EQ(object.size(), 12u) << line;
  auto integer = [&](const char* name) -> int64_t {
    simdjson::dom::element e;
    if (object[name].get(e) != simdjson::SUCCESS) {
      ADD_FAILURE() << "missing " << name << ": " << line;
      return 0;
    }
    if (!e.is_int64() && !e.is_uint64()) {
      ADD_FAILURE() << name << " is not a JSON integer: " << line;
      return 0;
    }
    return e.is_int64() ? int64_t(e) : static_cast<int64_t>(uint64_t(e));
  };
  auto number = [&](const char* name) -> double {
    simdjson::dom::element e;
    if (object[name].get(e) != simdjson::SUCCESS) {
      ADD_FAILURE() << "missing " << name << ": " << line;
      return 0;
    }
    double value = 0;
    if (e.get_double().get(value) != simdjson::SUCCESS) {
      ADD_FAILURE() << name << " is not a JSON number: " << line;
    }
    return value;
  };
  std::string_view key;
  if (object["key"].get(key) != simdjson::SUCCESS) {
    ADD_FAILURE() << "key is not a string: " << line;
  }
  result.key = std::string(key);
  result.start = integer("windowStartMs");
  result.end = integer("windowEndMs");
  result.count = static_cast<uint64_t>(integer("count"));
  result.sum = number("sum");
  result.min = number("min");
  result.max = number("max");
  result.mean = number("mean");
  result.p50 = number("p50");
  result.p90 = number("p90");
  result.p99 = number("p99");
  result.revision = integer("revision");
  return result;
}

std::vector<ResultLine> ReadResultLines(const std::vector<std::string>& lines) {
  std::vector<ResultLine> results;
  results.reserve(lines.size());
  for (const std::string& line : lines) results.push_back(ReadResultLine(line));
  return results;
}

std::vector<ResultLine> StepOutput::All() const {
  std::vector<ResultLine> all;
  for (const auto& step : results)
    all.insert(all.end(), step.begin(), step.end());
  return all;
}

StepOutput RunByStep(const std::vector<std::string>& lines,
                     const AggregatorOptions& options) {
  StepOutput output;
  SequentialAggregator aggregator(
      options,
      [&output](std::string_view line) {
        output.results.back().push_back(ReadResultLine(line));
      },
      [&output](std::string_view line) { output.late.emplace_back(line); });
  const int input = aggregator.AddInput(0);
  for (const std::string& line : lines) {
    output.results.emplace_back();
    aggregator.OnLine(input, line, 0);
  }
  output.results.emplace_back();
  aggregator.Finish();
  output.counters = aggregator.counters();
  return output;
}

WindowSpec Spec(std::string_view text) {
  absl::StatusOr<WindowSpec> spec = ParseWindowSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : WindowSpec::Tumbling(1000);
}

AggregatorOptions Options(std::string_view spec, int64_t max_ooo_ms,
                          int64_t allowed_lateness_ms) {
  AggregatorOptions options;
  options.window = Spec(spec);
  options.max_out_of_orderness_ms = max_ooo_ms;
  options.allowed_lateness_ms = allowed_lateness_ms;
  return options;
}

uint64_t TestSeed(uint64_t fallback) {
  const char* env = std::getenv("TROUPE_TEST_SEED");
  if (env == nullptr || *env == '\0') return fallback;
  uint64_t seed = fallback;
  std::from_chars(env, env + std::string_view(env).size(), seed);
  return seed;
}

}  // namespace troupe::aggregator::testing
