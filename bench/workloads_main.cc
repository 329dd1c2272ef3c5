// //bench:workloads - troupe's side of the cross-system comparison in
// ../shared/bench/WORKLOADS.md. Prints `WORKLOAD <name> <value> <unit>`.
//
//   bazel run --config=bench //bench:workloads                # every workload
//   bazel run --config=bench //bench:workloads -- spawn_local ping_pong
//   bazel run --config=bench //bench:workloads -- --list
//
// Exit status: 0 if every requested workload ran and passed its self-check,
// 1 on a failed self-check, 2 on an unknown workload name.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/workloads.h"

int main(int argc, char** argv) {
  using troupe::bench::Workload;
  troupe::bench::WorkloadRegistry registry;
  troupe::bench::RegisterExecutorWorkloads(registry);
  troupe::bench::RegisterChannelWorkloads(registry);
  troupe::bench::RegisterActorWorkloads(registry);

  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: workloads [--list] [WORKLOAD...]\n"
          "Runs troupe's versions of the reference workloads "
          "(shared/bench/WORKLOADS.md)\nand prints `WORKLOAD <name> <value> "
          "<unit>` per workload. No argument: all.\n");
      return 0;
    }
    if (std::strcmp(argv[i], "--list") == 0) {
      for (const Workload& w : registry.workloads()) {
        std::printf("%s %s\n", w.name.c_str(), w.unit.c_str());
      }
      return 0;
    }
    // actor_ask_latency_p99 is reported by actor_ask_latency.
    wanted.emplace_back(std::strcmp(argv[i], "actor_ask_latency_p99") == 0
                            ? "actor_ask_latency"
                            : argv[i]);
  }
  for (const std::string& name : wanted) {
    bool known = false;
    for (const Workload& w : registry.workloads()) known |= w.name == name;
    if (!known) {
      std::fprintf(stderr, "workloads: unknown workload '%s' (see --list)\n",
                   name.c_str());
      return 2;
    }
  }
  for (const Workload& w : registry.workloads()) {
    bool run = wanted.empty();
    for (const std::string& name : wanted) run |= name == w.name;
    if (!run) continue;
    std::fprintf(stderr, "workloads: running %s\n", w.name.c_str());
    const double value = w.run();
    // NaN: the workload reported its own lines (ask latency has two).
    if (!std::isnan(value)) troupe::bench::Report(w.name, value, w.unit);
  }
  return 0;
}
