// The registry of //bench:workloads: every workload of WORKLOADS.md, by
// name, in the order of that file.
#ifndef TROUPE_BENCH_WORKLOADS_H_
#define TROUPE_BENCH_WORKLOADS_H_

#include <functional>
#include <string>
#include <vector>

namespace troupe::bench {

struct Workload {
  std::string name;
  std::string unit;
  // Runs the workload (warm-up + 7 runs) and returns the median. A
  // workload that reports more than one line (ask latency) prints the
  // extra ones itself.
  std::function<double()> run;
};

class WorkloadRegistry {
 public:
  void Add(std::string name, std::string unit, std::function<double()> run) {
    workloads_.push_back({std::move(name), std::move(unit), std::move(run)});
  }
  const std::vector<Workload>& workloads() const { return workloads_; }

 private:
  std::vector<Workload> workloads_;
};

void RegisterExecutorWorkloads(WorkloadRegistry& registry);
void RegisterChannelWorkloads(WorkloadRegistry& registry);
void RegisterActorWorkloads(WorkloadRegistry& registry);

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_WORKLOADS_H_
