#include "examples/stream_aggregator/sequential_driver.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "examples/stream_aggregator/result_format.h"

namespace troupe::aggregator {

uint64_t Counters::bad_lines() const {
  uint64_t total = 0;
  for (uint64_t n : bad) total += n;
  return total;
}

void SplitLines(std::string_view text,
                const std::function<void(std::string_view)>& line_fn) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    line_fn(text.substr(begin, end - begin));
    begin = end + 1;
  }
}

SequentialAggregator::SequentialAggregator(const AggregatorOptions& options,
                                           LineSink results, LineSink late)
    : results_(std::move(results)),
      late_(std::move(late)),
      tracker_(options.max_out_of_orderness_ms, options.idle_timeout_ms),
      engine_({options.window, options.allowed_lateness_ms},
              [this](const WindowResult& result) { OnResult(result); }) {}

int SequentialAggregator::AddInput(int64_t now_ms) {
  return tracker_.AddInput(now_ms);
}

void SequentialAggregator::CloseInput(int input, int64_t now_ms) {
  tracker_.RemoveInput(input, now_ms);
  engine_.OnWatermark(tracker_.watermark());
}

void SequentialAggregator::OnLine(int input, std::string_view line,
                                  int64_t now_ms) {
  ++counters_.lines;
  EventView event;
  ParseError error = parser_.Parse(line, &event);
  if (error == ParseError::kNone &&
      !engine_.options().window.Fits(event.ts_ms)) {
    error = ParseError::kBadTimestamp;
  }
  if (error != ParseError::kNone) {
    ++counters_.bad[static_cast<int>(error)];
    return;
  }
  switch (engine_.OnEvent(event.key, event.ts_ms, event.value,
                          tracker_.watermark())) {
    case EventOutcome::kOnTime:
      ++counters_.on_time;
      break;
    case EventOutcome::kLate:
      ++counters_.late_accepted;
      break;
    case EventOutcome::kDroppedLate:
      ++counters_.late_dropped;
      late_(line);
      break;
    case EventOutcome::kOutOfRange:  // excluded above
      ++counters_.bad[static_cast<int>(ParseError::kBadTimestamp)];
      return;
    case EventOutcome::kNotFinite:  // the parser never lets one through
      ++counters_.bad[static_cast<int>(ParseError::kBadValue)];
      return;
  }
  tracker_.OnEvent(input, event.ts_ms, now_ms);
  engine_.OnWatermark(tracker_.watermark());
}

void SequentialAggregator::AdvanceTime(int64_t now_ms) {
  tracker_.AdvanceTime(now_ms);
  engine_.OnWatermark(tracker_.watermark());
}

void SequentialAggregator::Finish() { engine_.Flush(); }

void SequentialAggregator::OnResult(const WindowResult& result) {
  line_buffer_.clear();
  AppendResultLine(result, &line_buffer_);
  results_(line_buffer_);
}

SequentialOutput RunSequential(std::string_view ndjson,
                               const AggregatorOptions& options) {
  SequentialOutput output;
  SequentialAggregator aggregator(
      options,
      [&output](std::string_view line) { output.results.emplace_back(line); },
      [&output](std::string_view line) { output.late.emplace_back(line); });
  const int input = aggregator.AddInput(0);
  SplitLines(ndjson,
             [&](std::string_view line) { aggregator.OnLine(input, line, 0); });
  aggregator.Finish();
  output.counters = aggregator.counters();
  return output;
}

}  // namespace troupe::aggregator
