// Runtime metrics: what a snapshot counts, and the Prometheus rendering.

#include "executor/metrics.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

uint64_t TotalTasksRun(const RuntimeMetrics& m) {
  uint64_t total = 0;
  for (const WorkerMetrics& w : m.workers) total += w.tasks_run;
  return total;
}

Task<void> YieldTimes(int n) {
  for (int i = 0; i < n; ++i) co_await YieldNow();
}

Task<void> WaitOn(CancellationToken token) { co_await token.Cancelled(); }

Task<void> AwaitAll(std::vector<JoinHandle<void>> handles) {
  for (JoinHandle<void>& h : handles) co_await h;
}

// On the current-thread runtime every count is exact.
TEST(Metrics, ASnapshotCountsSpawnedRunAndAliveTasks) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  RuntimeMetrics m = runtime.Metrics();
  EXPECT_EQ(m.num_workers, 1);
  ASSERT_EQ(m.workers.size(), 1u);
  EXPECT_EQ(m.tasks_spawned, 0);
  EXPECT_EQ(m.tasks_alive, 0);
  EXPECT_EQ(TotalTasksRun(m), 0u);

  // One task, resumed ten times (nine yields).
  runtime.BlockOn(YieldTimes(9));
  m = runtime.Metrics();
  EXPECT_EQ(m.tasks_spawned, 1);
  EXPECT_EQ(m.tasks_alive, 0);
  EXPECT_EQ(TotalTasksRun(m), 10u);

  // Five parked tasks are alive (and not yet run: nobody drives).
  CancellationToken token;
  std::vector<JoinHandle<void>> parked;
  parked.reserve(5);
  for (int i = 0; i < 5; ++i) parked.push_back(runtime.Spawn(WaitOn(token)));
  m = runtime.Metrics();
  EXPECT_EQ(m.tasks_spawned, 6);
  EXPECT_EQ(m.tasks_alive, 5);
  EXPECT_EQ(m.inject_queue_depth, 5u);
  EXPECT_EQ(TotalTasksRun(m), 10u);

  // Cancelled before they ever ran: each finishes in its first run.
  token.Cancel();
  runtime.BlockOn(AwaitAll(std::move(parked)));
  m = runtime.Metrics();
  EXPECT_EQ(m.tasks_spawned, 7);
  EXPECT_EQ(m.tasks_alive, 0);
  EXPECT_EQ(m.inject_queue_depth, 0u);
  EXPECT_GE(TotalTasksRun(m), 10u + 5u + 1u);
}

TEST(Metrics, ASnapshotCountsPendingTimersAndBlockingThreads) {
  ManualClock clock;
  Runtime runtime({.flavor = Flavor::kCurrentThread, .clock = &clock});
  auto body = [](Runtime* rt) -> Task<void> {
    JoinHandle<void> sleeper = Spawn(
        []() -> Task<void> { co_await SleepFor(std::chrono::hours(1)); }());
    co_await YieldNow();
    EXPECT_EQ(rt->Metrics().timers_pending, 1);
    EXPECT_EQ(rt->Metrics().tasks_alive, 2);  // the sleeper and this one
    sleeper.Abort();
    EXPECT_THROW(co_await sleeper, CancelledError);
    EXPECT_EQ(rt->Metrics().timers_pending, 0);
    auto h = SpawnBlocking([] { return 1; });
    EXPECT_TRUE(h.ok());
    co_await *h;
    EXPECT_EQ(rt->Metrics().blocking_threads, 1);
  };
  runtime.BlockOn(body(&runtime));
}

TEST(Metrics, TasksRunOnEveryWorkerAddUpOnAMultiThreadRuntime) {
  constexpr int kTasks = 1000;
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  std::vector<JoinHandle<void>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i)
    handles.push_back(runtime.Spawn(YieldTimes(1)));
  runtime.BlockOn(AwaitAll(std::move(handles)));
  test::WaitUntil([&] { return runtime.Metrics().tasks_alive == 0; });
  const RuntimeMetrics m = runtime.Metrics();
  EXPECT_EQ(m.num_workers, 2);
  ASSERT_EQ(m.workers.size(), 2u);
  EXPECT_EQ(m.tasks_spawned, kTasks + 1);
  // Each task runs twice (one yield), the awaiting task at least once.
  EXPECT_GE(TotalTasksRun(m), 2u * kTasks + 1);
}

// A strict reader of the Prometheus text exposition format (the subset a
// renderer of counters and gauges produces): comment lines "# HELP name
// text" and "# TYPE name type", and samples "name{label="v",...} value".
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Consumes a metric (or, without colons, label) name at the front of `s`.
bool TakeName(std::string_view& s, std::string* name, bool colons = true) {
  std::size_t n = 0;
  while (n < s.size() && IsNameChar(s[n]) && (colons || s[n] != ':')) ++n;
  if (n == 0 || !IsNameStart(s[0]) || (!colons && s[0] == ':')) return false;
  *name = std::string(s.substr(0, n));
  s.remove_prefix(n);
  return true;
}

bool TakeLabels(std::string_view& s, std::string* labels) {
  if (s.empty() || s[0] != '{') return true;  // none
  const std::string_view start = s;
  s.remove_prefix(1);
  for (;;) {
    std::string label;
    if (!TakeName(s, &label, /*colons=*/false)) return false;
    if (s.size() < 2 || s[0] != '=' || s[1] != '"') return false;
    s.remove_prefix(2);
    const std::size_t close = s.find('"');
    if (close == std::string_view::npos) return false;
    if (s.substr(0, close).find('\\') != std::string_view::npos) return false;
    s.remove_prefix(close + 1);
    if (!s.empty() && s[0] == ',') {
      s.remove_prefix(1);
      continue;
    }
    if (s.empty() || s[0] != '}') return false;
    s.remove_prefix(1);
    *labels = std::string(start.substr(0, start.size() - s.size()));
    return true;
  }
}

bool ParseValue(std::string_view s, double* value) {
  if (s.empty()) return false;
  const std::string text(s);
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> help;
  std::vector<std::pair<std::string, double>> samples;  // name{labels}, value
};

// Fails the test on any line that is not well formed.
Exposition Parse(const std::string& text) {
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram",
                                               "summary", "untyped"};
  Exposition e;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view s = line;
    std::string name;
    if (s.starts_with("# HELP ")) {
      s.remove_prefix(7);
      const bool ok = TakeName(s, &name) && s.size() > 1 && s[0] == ' ';
      EXPECT_TRUE(ok) << "bad HELP line: '" << line << "'";
      if (ok) {
        EXPECT_TRUE(e.help.emplace(name, s.substr(1)).second)
            << "second HELP: " << line;
      }
    } else if (s.starts_with("# TYPE ")) {
      s.remove_prefix(7);
      const bool ok = TakeName(s, &name) && s.size() > 1 && s[0] == ' ' &&
                      kTypes.count(std::string(s.substr(1))) == 1;
      EXPECT_TRUE(ok) << "bad TYPE line: '" << line << "'";
      if (ok) {
        EXPECT_TRUE(e.types.emplace(name, s.substr(1)).second)
            << "second TYPE: " << line;
      }
    } else {
      std::string labels;
      double value = 0;
      const bool ok = TakeName(s, &name) && TakeLabels(s, &labels) &&
                      !s.empty() && s[0] == ' ' &&
                      ParseValue(s.substr(1), &value);
      EXPECT_TRUE(ok) << "not a Prometheus text line: '" << line << "'";
      if (!ok) continue;
      // A sample follows its metric's TYPE line.
      EXPECT_EQ(e.types.count(name), 1u) << "no TYPE before: " << line;
      e.samples.emplace_back(name + labels, value);
    }
  }
  return e;
}

TEST(Metrics, TheExpositionReaderRejectsMalformedLines) {
  // The reader above must be able to fail, or it proves nothing.
  EXPECT_NONFATAL_FAILURE(Parse("# TYPE x counter\nx 1 2\n"),
                          "not a Prometheus");
  EXPECT_NONFATAL_FAILURE(Parse("# TYPE x gauge\nx{a=\"1\" 3\n"),
                          "not a Prometheus");
  EXPECT_NONFATAL_FAILURE(Parse("# TYPE 9x gauge\n"), "bad TYPE");
  EXPECT_NONFATAL_FAILURE(Parse("# TYPE x meter\n"), "bad TYPE");
  EXPECT_NONFATAL_FAILURE(Parse("y 1\n"), "no TYPE before");
  const Exposition ok = Parse(
      "# HELP x_total Things.\n# TYPE x_total counter\n"
      "x_total{worker=\"0\",kind=\"a\"} 1.5e3\n");
  ASSERT_EQ(ok.samples.size(), 1u);
  EXPECT_EQ(ok.samples[0].first, "x_total{worker=\"0\",kind=\"a\"}");
  EXPECT_EQ(ok.samples[0].second, 1500);
}

TEST(Metrics, RenderPrometheusWritesWellFormedLinesForEveryMetric) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  runtime.BlockOn(YieldTimes(3));
  test::WaitUntil([&] { return runtime.Metrics().tasks_alive == 0; });
  const RuntimeMetrics m = runtime.Metrics();
  const Exposition e = Parse(RenderPrometheus(m));

  const std::map<std::string, std::string> expected = {
      {"troupe_runtime_workers", "gauge"},
      {"troupe_runtime_tasks_spawned_total", "counter"},
      {"troupe_runtime_tasks_alive", "gauge"},
      {"troupe_runtime_inject_queue_depth", "gauge"},
      {"troupe_runtime_timers_pending", "gauge"},
      {"troupe_runtime_blocking_threads", "gauge"},
      {"troupe_runtime_blocking_queue_depth", "gauge"},
      {"troupe_runtime_worker_tasks_run_total", "counter"},
      {"troupe_runtime_worker_steals_total", "counter"},
      {"troupe_runtime_worker_tasks_stolen_total", "counter"},
      {"troupe_runtime_worker_parks_total", "counter"},
      {"troupe_runtime_worker_overflows_total", "counter"},
      {"troupe_runtime_worker_local_queue_depth", "gauge"},
      {"troupe_runtime_worker_busy_seconds_total", "counter"},
  };
  for (const auto& [name, type] : expected) {
    auto it = e.types.find(name);
    ASSERT_NE(it, e.types.end()) << "missing " << name;
    EXPECT_EQ(it->second, type) << name;
    EXPECT_EQ(e.help.count(name), 1u) << name;
  }
  for (const auto& [name, type] : e.types) {
    // Prometheus naming: counters, and only counters, end in _total.
    const bool total = name.size() > 6 && name.ends_with("_total");
    EXPECT_EQ(total, type == "counter") << name;
  }

  std::map<std::string, double> values(e.samples.begin(), e.samples.end());
  EXPECT_EQ(values["troupe_runtime_workers"], 2);
  EXPECT_EQ(values["troupe_runtime_tasks_spawned_total"], m.tasks_spawned);
  EXPECT_EQ(values["troupe_runtime_tasks_alive"], 0);
  // Per-worker metrics carry a worker label, one sample per worker.
  EXPECT_EQ(values["troupe_runtime_worker_tasks_run_total{worker=\"0\"}"],
            static_cast<double>(m.workers[0].tasks_run));
  EXPECT_EQ(values["troupe_runtime_worker_tasks_run_total{worker=\"1\"}"],
            static_cast<double>(m.workers[1].tasks_run));
  EXPECT_EQ(values.count("troupe_runtime_worker_parks_total{worker=\"2\"}"),
            0u);
}

TEST(Metrics, RenderPrometheusUsesTheGivenPrefix) {
  RuntimeMetrics m;
  m.num_workers = 1;
  m.workers.resize(1);
  const Exposition e = Parse(RenderPrometheus(m, "svc_exec"));
  EXPECT_EQ(e.types.count("svc_exec_workers"), 1u);
  EXPECT_EQ(e.types.count("svc_exec_worker_parks_total"), 1u);
  for (const auto& [name, type] : e.types) {
    EXPECT_EQ(name.rfind("svc_exec_", 0), 0u) << name;
  }
}

}  // namespace
}  // namespace troupe
