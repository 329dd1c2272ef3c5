#include "executor/metrics.h"

#include "absl/strings/str_cat.h"

namespace troupe {
namespace {

void Header(std::string& out, const std::string& name, const char* type,
            const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

template <typename Get>
void PerWorker(std::string& out, const RuntimeMetrics& m,
               const std::string& name, const char* type, const char* help,
               Get get) {
  Header(out, name, type, help);
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    absl::StrAppend(&out, name, "{worker=\"", i, "\"} ", get(m.workers[i]),
                    "\n");
  }
}

}  // namespace

std::string RenderPrometheus(const RuntimeMetrics& m,
                             const std::string& prefix) {
  std::string out;
  auto scalar = [&](const std::string& name, const char* type, const char* help,
                    auto value) {
    Header(out, prefix + name, type, help);
    absl::StrAppend(&out, prefix, name, " ", value, "\n");
  };
  scalar("_workers", "gauge", "Number of worker threads.", m.num_workers);
  scalar("_tasks_spawned_total", "counter", "Tasks spawned.", m.tasks_spawned);
  scalar("_tasks_alive", "gauge", "Tasks spawned and not yet complete.",
         m.tasks_alive);
  scalar("_inject_queue_depth", "gauge", "Tasks in the injection queue.",
         m.inject_queue_depth);
  scalar("_timers_pending", "gauge", "Registered timers.", m.timers_pending);
  scalar("_blocking_threads", "gauge", "Threads of the blocking pool.",
         m.blocking_threads);
  scalar("_blocking_queue_depth", "gauge",
         "Jobs waiting for a blocking thread.", m.blocking_queue_depth);
  PerWorker(out, m, prefix + "_worker_tasks_run_total", "counter",
            "Task resumptions per worker.",
            [](const WorkerMetrics& w) { return w.tasks_run; });
  PerWorker(out, m, prefix + "_worker_steals_total", "counter",
            "Successful steal operations per worker.",
            [](const WorkerMetrics& w) { return w.steal_operations; });
  PerWorker(out, m, prefix + "_worker_tasks_stolen_total", "counter",
            "Tasks moved by steals per worker.",
            [](const WorkerMetrics& w) { return w.tasks_stolen; });
  PerWorker(out, m, prefix + "_worker_parks_total", "counter",
            "Times a worker went to sleep.",
            [](const WorkerMetrics& w) { return w.parks; });
  PerWorker(out, m, prefix + "_worker_spins_total", "counter",
            "Times a worker spun waiting for work before parking.",
            [](const WorkerMetrics& w) { return w.spins; });
  PerWorker(out, m, prefix + "_worker_overflows_total", "counter",
            "Tasks a worker pushed to the injection queue.",
            [](const WorkerMetrics& w) { return w.overflows; });
  PerWorker(out, m, prefix + "_worker_local_queue_depth", "gauge",
            "Tasks in a worker's local queue.",
            [](const WorkerMetrics& w) { return w.local_queue_depth; });
  PerWorker(out, m, prefix + "_worker_busy_seconds_total", "counter",
            "Time a worker spent not parked.", [](const WorkerMetrics& w) {
              return static_cast<double>(w.busy_ns) / 1e9;
            });
  return out;
}

}  // namespace troupe
