// Runtime metrics: cheap, always-on counters, read as a snapshot.
//
// Each worker counts into its own cache line (relaxed atomics written only
// by that worker), so counting costs no shared-memory traffic; a snapshot
// reads them from any thread and may be slightly stale.
//
// Example:
//   RuntimeMetrics m = runtime.Metrics();
//   for (const WorkerMetrics& w : m.workers) total += w.tasks_run;
#ifndef TROUPE_EXECUTOR_METRICS_H_
#define TROUPE_EXECUTOR_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

struct WorkerMetrics {
  uint64_t tasks_run = 0;  // task resumptions
  uint64_t steal_operations = 0;
  uint64_t tasks_stolen = 0;  // tasks moved by those steals
  uint64_t parks = 0;
  uint64_t spins = 0;  // times it spun (kParkSpinNs) on the way to parking
  uint64_t lifo_runs = 0;
  uint64_t overflows = 0;  // tasks pushed to the injection queue
  uint64_t local_queue_depth = 0;
  uint64_t busy_ns = 0;  // time not parked
};

struct RuntimeMetrics {
  int num_workers = 0;
  int64_t tasks_spawned = 0;
  int64_t tasks_alive = 0;
  uint64_t inject_queue_depth = 0;
  int64_t timers_pending = 0;
  int64_t blocking_threads = 0;
  int64_t blocking_queue_depth = 0;
  std::vector<WorkerMetrics> workers;
};

// Renders the metrics in the Prometheus text exposition format, every
// metric name prefixed with `prefix` (e.g. "troupe_runtime").
std::string RenderPrometheus(const RuntimeMetrics& metrics,
                             const std::string& prefix = "troupe_runtime");

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_METRICS_H_
