// The workload harness shared by //bench:workloads: the rules of
// ../shared/bench/WORKLOADS.md in one place.
//
//   - 1 warm-up run, then 7 timed runs; the MEDIAN is reported.
//   - Output: `WORKLOAD <name> <value> <unit>`, exactly as the peers print.
//   - Every workload checks its own result; Check() exits non-zero with a
//     message on a wrong answer ("a fast wrong answer is not a result").
//   - With TROUPE_BENCH_VERBOSE set, every run's value goes to stderr.
#ifndef TROUPE_BENCH_HARNESS_H_
#define TROUPE_BENCH_HARNESS_H_

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace troupe::bench {

inline constexpr int kWarmup = 1;
inline constexpr int kRuns = 7;
inline constexpr int kWorkerThreads = 2;

[[noreturn]] inline void Fail(const std::string& message) {
  std::fprintf(stderr, "SELF-CHECK FAILED: %s\n", message.c_str());
  std::exit(1);
}

// Takes a C string: checks sit on hot paths, and building a std::string
// for every passing check would be a malloc per message.
inline void Check(bool ok, const char* message) {
  if (!ok) Fail(message);
}

inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs `body` once to warm up and kRuns times more; returns the median.
inline double Bench(const std::function<double()>& body) {
  const bool verbose = std::getenv("TROUPE_BENCH_VERBOSE") != nullptr;
  for (int i = 0; i < kWarmup; ++i) {
    const double v = body();
    if (verbose) std::fprintf(stderr, "  warm-up %.3f\n", v);
  }
  std::vector<double> values;
  for (int i = 0; i < kRuns; ++i) values.push_back(body());
  if (verbose) {
    std::fprintf(stderr, "  runs");
    for (double v : values) std::fprintf(stderr, " %.3f", v);
    std::fprintf(stderr, "\n");
  }
  return Median(values);
}

inline void Report(const std::string& name, double value,
                   const std::string& unit) {
  std::printf("WORKLOAD %s %.3f %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

using Clock = std::chrono::steady_clock;

inline double NsPer(Clock::duration d, double n) {
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
         n;
}

inline double MegaPerSecond(Clock::duration d, double n) {
  return n / std::chrono::duration<double>(d).count() / 1e6;
}

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_HARNESS_H_
