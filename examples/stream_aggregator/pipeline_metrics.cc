#include "examples/stream_aggregator/pipeline_metrics.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "examples/stream_aggregator/window_spec.h"

namespace troupe::aggregator {

void InFlightGauge::Add(int64_t n) {
  // Relaxed: a level and its peak are statistics; the peak only has to be
  // the largest level any Add saw, which the CAS loop ensures whatever the
  // ordering.
  const int64_t now = value_.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak &&
         !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

InputCounters* PipelineMetrics::AddInput(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  inputs_.push_back(std::make_unique<InputCounters>(std::move(name)));
  return inputs_.back().get();
}

MetricsSnapshot PipelineMetrics::Snapshot() const {
  MetricsSnapshot s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& in : inputs_) {
      InputSnapshot i;
      i.name = in->name;
      // Acquire, and first: pairs with the release store in
      // InputPort::Close, so the counts below are final if it is closed.
      i.closed = in->closed.load(std::memory_order_acquire);
      i.lines = in->lines.load(std::memory_order_relaxed);
      i.events = in->events.load(std::memory_order_relaxed);
      for (int r = 0; r < kParseErrorCount; ++r) {
        i.bad[r] = in->bad[r].load(std::memory_order_relaxed);
        s.bad[r] += i.bad[r];
        s.bad_lines += i.bad[r];
      }
      s.events += i.events;
      s.inputs.push_back(std::move(i));
    }
  }
  s.on_time = on_time.load(std::memory_order_relaxed);
  s.late_accepted = late_accepted.load(std::memory_order_relaxed);
  s.late_dropped = late_dropped.load(std::memory_order_relaxed);
  s.results_written = results_written.load(std::memory_order_relaxed);
  s.late_written = late_written.load(std::memory_order_relaxed);
  s.watermark = watermark.load(std::memory_order_relaxed);
  s.max_event_ts = max_event_ts.load(std::memory_order_relaxed);
  s.peak_events_in_flight = events_in_flight.peak();
  s.peak_result_lines_in_flight = result_lines_in_flight.peak();
  return s;
}

void PipelineMetrics::RecordFailure(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failure_.ok()) failure_ = std::move(status);
}

absl::Status PipelineMetrics::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

std::string FormatSummary(const MetricsSnapshot& s, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(s.events) / seconds : 0;
  std::string out = absl::StrFormat(
      "%d events from %d input%s in %.3f s (%.0f events/s): %d on time, "
      "%d late accepted, %d late dropped; %d windows emitted; %d bad line%s",
      s.events, s.inputs.size(), s.inputs.size() == 1 ? "" : "s", seconds, rate,
      s.on_time, s.late_accepted, s.late_dropped, s.results_written,
      s.bad_lines, s.bad_lines == 1 ? "" : "s");
  if (s.bad_lines > 0) {
    const char* separator = " (";
    for (int r = 1; r < kParseErrorCount; ++r) {
      if (s.bad[r] == 0) continue;
      absl::StrAppend(&out, separator,
                      std::string(ParseErrorToken(static_cast<ParseError>(r))),
                      " ", s.bad[r]);
      separator = ", ";
    }
    out += ")";
  }
  return out;
}

namespace {

// A Prometheus label value: backslash, quote and newline escaped.
std::string LabelValue(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendCounter(const char* name, const char* help, uint64_t value,
                   std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name,
                  " counter\n", name, " ", value, "\n");
}

}  // namespace

void AppendPrometheus(const MetricsSnapshot& s, std::string* out) {
  absl::StrAppend(out,
                  "# HELP aggregator_events_in_total Valid events read, by "
                  "input.\n# TYPE aggregator_events_in_total counter\n");
  for (const InputSnapshot& in : s.inputs) {
    absl::StrAppend(out, "aggregator_events_in_total{input=\"",
                    LabelValue(in.name), "\"} ", in.events, "\n");
  }
  AppendCounter("aggregator_results_out_total",
                "Result lines written (window firings).", s.results_written,
                out);
  AppendCounter("aggregator_late_dropped_total",
                "Events dropped as too late (rule 4).", s.late_dropped, out);
  absl::StrAppend(out,
                  "# HELP aggregator_parse_errors_total Bad input lines, by "
                  "reason.\n# TYPE aggregator_parse_errors_total counter\n");
  for (int r = 1; r < kParseErrorCount; ++r) {
    absl::StrAppend(out, "aggregator_parse_errors_total{reason=\"",
                    std::string(ParseErrorToken(static_cast<ParseError>(r))),
                    "\"} ", s.bad[r], "\n");
  }
  absl::StrAppend(
      out,
      "# HELP aggregator_shard_mailbox_depth Messages waiting in "
      "each shard's mailbox.\n# TYPE aggregator_shard_mailbox_depth "
      "gauge\n");
  for (size_t i = 0; i < s.shard_mailbox_depth.size(); ++i) {
    absl::StrAppend(out, "aggregator_shard_mailbox_depth{shard=\"", i, "\"} ",
                    s.shard_mailbox_depth[i], "\n");
  }
  const int64_t lag =
      s.watermark == kNoWatermark || s.max_event_ts < s.watermark
          ? 0
          : SaturatingSub(s.max_event_ts, s.watermark);
  absl::StrAppend(out,
                  "# HELP aggregator_watermark_lag_ms Largest event time seen "
                  "minus the watermark.\n# TYPE aggregator_watermark_lag_ms "
                  "gauge\naggregator_watermark_lag_ms ",
                  lag, "\n");
}

}  // namespace troupe::aggregator
