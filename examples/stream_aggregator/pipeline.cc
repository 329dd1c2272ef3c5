#include "examples/stream_aggregator/pipeline.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace troupe::aggregator {

Pipeline::Pipeline(ActorSystem& system, const PipelineOptions& options)
    : options_(options), metrics_(std::make_shared<PipelineMetrics>()) {
  port_options_.window = options.window;
  port_options_.batch_events = options.batch_events;
  port_options_.max_line_bytes = options.max_line_bytes;
  port_options_.log_burst = options.log_burst;
  port_options_.log = options.log;

  SinkOptions sink;
  sink.results = options.results;
  sink.late = options.late;
  sink.shards = options.shards;
  sink.metrics = metrics_;
  sink.finished = finished_;
  sink.stop_inputs = options.stop;
  sink.log = options.log;
  sink_ = system.SpawnNamed<OutputSink>(
      SpawnOptions{.name = "aggregator-sink",
                   .mailbox_capacity = options.sink_mailbox},
      std::move(sink));

  ShardOptions shard;
  shard.engine = EngineOptions{options.window, options.allowed_lateness_ms};
  shard.sink = sink_;
  shard.metrics = metrics_;
  shard.chunk_lines = options.result_chunk_lines;
  shard.delay = options.shard_delay;
  for (int i = 0; i < options.shards; ++i) {
    shards_.push_back(system.SpawnNamed<WindowShard>(
        SpawnOptions{.name = absl::StrCat("aggregator-shard-", i),
                     .mailbox_capacity = options.shard_mailbox},
        shard));
  }

  RouterOptions router;
  router.max_out_of_orderness_ms = options.max_out_of_orderness_ms;
  router.allowed_lateness_ms = options.allowed_lateness_ms;
  router.idle_timeout_ms = options.idle_timeout_ms;
  router.shards = shards_;
  router.sink = sink_;
  router.metrics = metrics_;
  router.batch_events = options.batch_events;
  router.keep_late_lines = options.late != nullptr;
  router_ = system.SpawnNamed<EventRouter>(
      SpawnOptions{.name = "aggregator-router",
                   .mailbox_capacity = options.router_mailbox},
      std::move(router));
}

Task<absl::StatusOr<std::unique_ptr<InputPort>>> Pipeline::OpenInput(
    std::string name) {
  const absl::StatusOr<int> id = co_await router_.Ask(RegisterInput{});
  if (!id.ok()) co_return id.status();
  if (*id < 0) {
    co_return absl::FailedPreconditionError(
        "the pipeline takes no new inputs (cannot open '" + name + "')");
  }
  InputCounters* counters = metrics_->AddInput(std::move(name));
  co_return std::make_unique<InputPort>(router_, *id, counters, metrics_,
                                        port_options_);
}

Task<void> Pipeline::NoMoreInputs() {
  (void)co_await router_.Send(SealInputs{});
}

Task<absl::Status> Pipeline::Finished() {
  co_await finished_.Cancelled();
  co_return metrics_->failure();
}

MetricsSnapshot Pipeline::Snapshot() const {
  MetricsSnapshot snapshot = metrics_->Snapshot();
  for (const ActorRef<WindowShard>& shard : shards_) {
    snapshot.shard_mailbox_depth.push_back(shard.MailboxDepth());
  }
  return snapshot;
}

int64_t Pipeline::MaxEventsInFlight(int inputs) const {
  const auto shards = static_cast<int64_t>(options_.shards);
  const auto batches =
      inputs + static_cast<int64_t>(options_.router_mailbox) + 1 +
      shards * (static_cast<int64_t>(options_.shard_mailbox) + 1);
  return batches * static_cast<int64_t>(options_.batch_events);
}

}  // namespace troupe::aggregator
