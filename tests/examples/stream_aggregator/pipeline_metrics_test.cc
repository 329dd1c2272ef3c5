// The summary line and the Prometheus rendering of the pipeline's counters.

#include "examples/stream_aggregator/pipeline_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

using ::testing::HasSubstr;

TEST(PipelineMetricsTest, TheSummaryNamesEventsRateLateWindowsAndBadLines) {
  PipelineMetrics metrics;
  InputCounters* in = metrics.AddInput("a.ndjson");
  in->events = 12;
  in->bad[static_cast<int>(ParseError::kMalformedJson)] = 1;
  in->bad[static_cast<int>(ParseError::kMissingField)] = 2;
  metrics.on_time = 10;
  metrics.late_accepted = 1;
  metrics.late_dropped = 1;
  metrics.results_written = 5;
  EXPECT_EQ(FormatSummary(metrics.Snapshot(), 2.0),
            "12 events from 1 input in 2.000 s (6 events/s): 10 on time, 1 "
            "late accepted, 1 late dropped; 5 windows emitted; 3 bad lines "
            "(malformed_json 1, missing_field 2)");
}

TEST(PipelineMetricsTest, ThePrometheusTextHasEveryMetricTheIssueNames) {
  PipelineMetrics metrics;
  metrics.AddInput("say \"hi\"")->events = 3;
  metrics.late_dropped = 2;
  metrics.watermark = 1'000;
  metrics.max_event_ts = 1'500;
  MetricsSnapshot snapshot = metrics.Snapshot();
  snapshot.shard_mailbox_depth = {4, 0};
  std::string text;
  AppendPrometheus(snapshot, &text);
  EXPECT_THAT(text, HasSubstr("aggregator_events_in_total{input=\"say "
                              "\\\"hi\\\"\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("aggregator_results_out_total 0\n"));
  EXPECT_THAT(text, HasSubstr("aggregator_late_dropped_total 2\n"));
  EXPECT_THAT(
      text, HasSubstr("aggregator_parse_errors_total{reason=\"bad_value\"} 0"));
  EXPECT_THAT(text, HasSubstr("aggregator_shard_mailbox_depth{shard=\"0\"} 4"));
  EXPECT_THAT(text, HasSubstr("aggregator_watermark_lag_ms 500\n"));
}

TEST(PipelineMetricsTest, AGaugeKeepsItsPeak) {
  InFlightGauge gauge;
  gauge.Add(5);
  gauge.Sub(3);
  gauge.Add(2);
  EXPECT_EQ(gauge.value(), 4);
  EXPECT_EQ(gauge.peak(), 5);
}

}  // namespace
}  // namespace troupe::aggregator
