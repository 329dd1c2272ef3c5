#include "examples/stream_aggregator/input_port.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "executor/sleep.h"

namespace troupe::aggregator {

InputPort::InputPort(ActorRef<EventRouter> router, int input,
                     InputCounters* counters,
                     std::shared_ptr<PipelineMetrics> metrics,
                     const InputPortOptions& options)
    : router_(std::move(router)),
      input_(input),
      counters_(counters),
      metrics_(std::move(metrics)),
      options_(options) {}

Task<absl::Status> InputPort::FeedText(std::string_view bytes) {
  if (closed_) {
    co_return absl::FailedPreconditionError("input '" + name() + "' is closed");
  }
  const size_t max_line = options_.max_line_bytes;
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      // An unfinished line: keep it for the next chunk, unless it is
      // already too long (then remember only that).
      if (!overlong_ && carry_.size() + bytes.size() > max_line) {
        overlong_ = true;
        carry_ = std::string();
      }
      if (!overlong_) carry_.append(bytes);
      break;
    }
    const std::string_view piece = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    if (overlong_ || carry_.size() + piece.size() > max_line) {
      ++line_number_;
      ReportBad(ParseError::kMalformedJson, "line",
                " (longer than the line limit)");
      overlong_ = false;
      carry_.clear();
    } else if (!carry_.empty()) {
      carry_.append(piece);
      OnLine(carry_);
      carry_.clear();
    } else {
      OnLine(piece);
    }
    if (batch_.size() >= options_.batch_events) {
      const absl::Status sent = co_await Flush();
      if (!sent.ok()) co_return sent;
    }
  }
  co_return co_await Flush();
}

void InputPort::OnLine(std::string_view line) {
  ++line_number_;
  EventView event;
  ParseError error = parser_.Parse(line, &event);
  if (error == ParseError::kNone && !options_.window.Fits(event.ts_ms)) {
    error = ParseError::kBadTimestamp;
  }
  if (error != ParseError::kNone) {
    ReportBad(error, "line", "");
    return;
  }
  batch_.Add(event.key, event.ts_ms, event.value, line, 0);
}

bool InputPort::Add(std::string_view key, int64_t ts_ms, double value) {
  ++line_number_;
  if (!std::isfinite(value)) {
    ReportBad(ParseError::kBadValue, record_unit_, "");
  } else if (!options_.window.Fits(ts_ms)) {
    ReportBad(ParseError::kBadTimestamp, record_unit_, "");
  } else {
    batch_.Add(key, ts_ms, value, {}, 0);
  }
  return batch_.size() >= options_.batch_events;
}

void InputPort::AddBad(ParseError reason, const char* detail) {
  ++line_number_;
  ReportBad(reason, record_unit_, detail);
}

void InputPort::ReportBad(ParseError reason, const char* unit,
                          const char* detail) {
  // Relaxed: statistics only (pipeline_metrics.h, "Memory ordering").
  counters_->bad[static_cast<int>(reason)].fetch_add(1,
                                                     std::memory_order_relaxed);
  if (!options_.log) return;
  const Instant now = CurrentClock().Now();
  if (logged_in_window_ == 0 ||
      now - log_window_start_ >= std::chrono::seconds(1)) {
    log_window_start_ = now;
    logged_in_window_ = 0;
  }
  if (logged_in_window_ >= options_.log_burst) {
    ++unlogged_;
    return;
  }
  ++logged_in_window_;
  std::string message =
      absl::StrCat("input '", name(), "' ", unit, " ", line_number_, ": ",
                   std::string(ParseErrorToken(reason)), detail, "; skipped");
  if (unlogged_ > 0) {
    absl::StrAppend(&message, " (", unlogged_,
                    " earlier bad lines were not logged)");
    unlogged_ = 0;
  }
  options_.log(message);
}

Task<absl::Status> InputPort::Flush() {
  // Relaxed: statistics only (pipeline_metrics.h, "Memory ordering").
  counters_->lines.store(line_number_, std::memory_order_relaxed);
  if (batch_.empty()) co_return absl::OkStatus();
  const auto events = static_cast<int64_t>(batch_.size());
  const size_t bytes = batch_.bytes();
  counters_->events.fetch_add(static_cast<uint64_t>(events),
                              std::memory_order_relaxed);
  metrics_->events_in_flight.Add(events);
  InputEvents message(input_, std::move(batch_));
  batch_.Clear();  // moved-from: make it empty for sure
  batch_.Reserve(options_.batch_events, bytes);
  const absl::Status sent = co_await router_.Send(std::move(message));
  if (!sent.ok()) {
    metrics_->events_in_flight.Sub(events);
    co_return absl::FailedPreconditionError(
        "the pipeline has stopped taking events from input '" + name() + "'");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> InputPort::Close() {
  if (closed_) co_return absl::OkStatus();
  if (overlong_) {
    ++line_number_;
    ReportBad(ParseError::kMalformedJson, "line",
              " (longer than the line limit)");
  } else if (!carry_.empty()) {
    OnLine(carry_);  // a final line without '\n' is still a line
  }
  carry_ = std::string();
  overlong_ = false;
  const absl::Status flushed = co_await Flush();
  closed_ = true;
  // Release: pairs with the acquire load in PipelineMetrics::Snapshot, so a
  // snapshot that sees the input closed sees its final line and event
  // counts too.
  counters_->closed.store(true, std::memory_order_release);
  if (unlogged_ > 0 && options_.log) {
    options_.log(absl::StrCat("input '", name(), "': ", unlogged_,
                              " more bad lines were not logged"));
  }
  const absl::Status sent = co_await router_.Send(CloseInput{input_});
  if (!flushed.ok()) co_return flushed;
  if (!sent.ok()) {
    co_return absl::FailedPreconditionError(
        "the pipeline has stopped taking events from input '" + name() + "'");
  }
  co_return absl::OkStatus();
}

}  // namespace troupe::aggregator
