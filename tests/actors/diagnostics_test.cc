// Diagnostics: the watchdog (a handler running longer than the threshold
// is reported once, naming the actor and the message type), per-actor
// statistics through the snapshot API (messages handled, mailbox
// high-water mark, handler-time histogram) and the Prometheus text. On the
// manual clock: handler times are exact and nothing sleeps.

#include <algorithm>
#include <chrono>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"

namespace troupe::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// ---- the watchdog ----

class WatchdogTest : public ManualTimeTest {
 protected:
  WatchdogTest() {
    ActorSystemOptions options = env_.Options();
    options.watchdog = true;
    options.watchdog_threshold = milliseconds(100);
    sloth_ = env_.StartSystem(options).SpawnNamed<Counter>(
        SpawnOptions{.name = "sloth"});
  }
  // Naps `n` times for `d` each, one after the other.
  void Naps(int n, Duration d) {
    auto body = [](ActorRef<Counter> c, int n, Duration d) -> Task<void> {
      for (int i = 0; i < n; ++i) {
        absl::StatusOr<int> r = co_await c.Ask(Nap{d});
        EXPECT_TRUE(r.ok()) << r.status();
      }
    };
    env_.Run(body(sloth_, n, d));
  }
  int Reports() const { return env_.logged().CountContaining({"watchdog"}); }

  ActorRef<Counter> sloth_;
};

TEST_F(WatchdogTest, AHandlerOverTheThresholdIsReportedOnceByActorAndMessage) {
  Naps(1, seconds(1));
  EXPECT_EQ(Reports(), 1) << ::testing::PrintToString(env_.logged().Lines());
  EXPECT_EQ(env_.logged().CountContaining({"watchdog", "sloth", "Nap"}), 1);
}

TEST_F(WatchdogTest, HandlersUnderTheThresholdAreNotReported) {
  Naps(10, milliseconds(60));
  EXPECT_EQ(Reports(), 0) << ::testing::PrintToString(env_.logged().Lines());
}

// The watchdog used to count a handler's time from the scan that first saw
// it, so a handler up to 1.5x the threshold went unreported (threshold
// 100 ms, a 140 ms handler from t=0: first seen at 50 ms, over at 140 ms).
TEST_F(WatchdogTest, EveryHandlerOverTheThresholdIsReported) {
  Naps(1, milliseconds(140));
  EXPECT_EQ(Reports(), 1) << ::testing::PrintToString(env_.logged().Lines());
}

TEST_F(WatchdogTest, AHandlerJustOverTheThresholdIsReported) {
  // Started off the scan grid: 10 ms of idle time first.
  env_.Run(Sleep(milliseconds(10)));
  Naps(1, milliseconds(101));
  EXPECT_EQ(Reports(), 1) << ::testing::PrintToString(env_.logged().Lines());
}

TEST_F(WatchdogTest, ManyHandlersJustUnderThreeQuartersOfTheThresholdAreNot) {
  Naps(20, milliseconds(74));
  EXPECT_EQ(Reports(), 0) << ::testing::PrintToString(env_.logged().Lines());
}

// ---- statistics ----

using StatsTest = ManualTimeTest;

std::optional<ActorStats> StatsNamed(const ActorSystem& system,
                                     const std::string& name) {
  for (const ActorStats& s : system.Stats()) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

// Queues `tells` increments (before the actor has run, so they all wait
// at once), then asks for the count.
Task<int> Burst(ActorRef<Counter> c, int tells) {
  for (int i = 0; i < tells; ++i) EXPECT_TRUE(c.TrySend(Increment{1}).ok());
  absl::StatusOr<int> n = co_await c.Ask(Get{});
  co_return n.value_or(-1);
}

TEST_F(StatsTest, TheSnapshotCountsTheMessagesEachActorHandled) {
  ActorSystem& system = env_.system();
  ActorRef<Counter> a = system.SpawnNamed<Counter>(SpawnOptions{.name = "a"});
  ActorRef<Counter> b = system.SpawnNamed<Counter>(SpawnOptions{.name = "b"});
  EXPECT_EQ(env_.Run(Burst(a, 10)), 10);
  EXPECT_EQ(env_.Run(Burst(b, 3)), 3);
  std::optional<ActorStats> sa = StatsNamed(system, "a");
  std::optional<ActorStats> sb = StatsNamed(system, "b");
  ASSERT_TRUE(sa.has_value());
  ASSERT_TRUE(sb.has_value());
  EXPECT_EQ(sa->id, a.id());
  EXPECT_EQ(sa->messages_handled, 11u);
  EXPECT_EQ(sb->messages_handled, 4u);
  EXPECT_THAT(sa->type, HasSubstr("Counter"));
  EXPECT_EQ(sa->state, ActorState::kRunning);
  EXPECT_EQ(sa->mailbox_depth, 0u);
  EXPECT_EQ(sa->restarts, 0u);
}

// The high-water mark used to be updated only on the messages sampled for
// the handler-time histogram (1 in CellBase::kHandlerSampleEvery): 300
// messages queued at once were recorded as 62, and a burst of fewer than
// 256 left it at 0. Burst queues its ask behind the increments: the
// deepest is one more than the increments.
TEST_F(StatsTest, TheMailboxHighWaterMarkIsTheDeepestTheMailboxGot) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "deep"});
  EXPECT_EQ(env_.Run(Burst(c, 300)), 300);
  std::optional<ActorStats> s = StatsNamed(env_.system(), "deep");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->mailbox_high_water, 301u);
  // A smaller burst later does not lower it.
  EXPECT_EQ(env_.Run(Burst(c, 10)), 310);
  s = StatsNamed(env_.system(), "deep");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->mailbox_high_water, 301u);
}

TEST_F(StatsTest, ABurstShorterThanTheSamplingPeriodSetsTheHighWaterMark) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "short"});
  EXPECT_EQ(env_.Run(Burst(c, 5)), 5);
  std::optional<ActorStats> s = StatsNamed(env_.system(), "short");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->mailbox_high_water, 6u);
}

// Behind a handler that does not finish, the messages piling up count.
TEST_F(StatsTest, MessagesPilingUpBehindABusyHandlerRaiseTheHighWaterMark) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "busy"});
  auto body = [](ActorRef<Counter> c) -> Task<void> {
    CancellationToken gate;
    WaitFor wait(gate);
    EXPECT_TRUE(c.TrySend(std::move(wait)).ok());
    co_await YieldUntil([&] { return c.cell()->current_message() != nullptr; });
    for (int i = 0; i < 7; ++i) EXPECT_TRUE(c.TrySend(Increment{1}).ok());
    EXPECT_EQ(c.cell()->Stats().mailbox_high_water, 8u);
    gate.Cancel();
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    EXPECT_EQ(n.value_or(-1), 7);
  };
  env_.Run(body(c));
}

TEST_F(StatsTest, TheHandlerTimeHistogramBucketsSampledHandlerTimes) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "timed"});
  // 3 ms handlers (3000 us: the bucket of [2048, 4096) us, index 12),
  // two sampling periods' worth.
  const int naps = 2 * CellBase::kHandlerSampleEvery;
  auto body = [](ActorRef<Counter> c, int naps) -> Task<void> {
    for (int i = 0; i < naps; ++i) {
      absl::Status s = co_await c.Send(Nap{milliseconds(3)});
      EXPECT_TRUE(s.ok()) << s;
    }
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    EXPECT_TRUE(n.ok()) << n.status();
  };
  env_.Run(body(c, naps));
  EXPECT_EQ(Elapsed(), milliseconds(3) * naps);
  std::optional<ActorStats> s = StatsNamed(env_.system(), "timed");
  ASSERT_TRUE(s.has_value());
  uint64_t samples = 0;
  for (uint64_t b : s->handler_time_buckets) samples += b;
  EXPECT_EQ(samples, 2u);
  EXPECT_EQ(s->handler_time_buckets[12], 2u);
}

// ---- Prometheus ----

using PrometheusTest = ManualTimeTest;

// The sample lines (not comments) of a Prometheus text.
std::vector<std::string> Samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

// A sample line of the text format: name{labels} value, label values
// quoted with \\, \" and \n escapes.
bool IsValidSample(const std::string& line) {
  static const std::regex kSample(
      R"re([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+)re");
  return std::regex_match(line, kSample);
}

TEST_F(PrometheusTest, TheTextHasRuntimeAndPerActorMetricsInValidLines) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "prom"});
  EXPECT_EQ(env_.Run(Burst(c, 3)), 3);
  const std::string text = env_.system().RenderPrometheus();
  const std::string labels = R"({actor="prom",type="troupe::test::Counter"})";
  for (const std::string& expected : {
           std::string("troupe_runtime_workers 1"),
           std::string("troupe_runtime_tasks_spawned_total "),
           std::string("# TYPE troupe_actors_alive gauge"),
           std::string("troupe_actors_alive 1"),
           "troupe_actor_messages_total" + labels + " 4",
           "troupe_actor_mailbox_depth" + labels + " 0",
           "troupe_actor_mailbox_high_water" + labels + " ",
           "troupe_actor_restarts_total" + labels + " 0",
           std::string("# TYPE troupe_actor_handler_seconds histogram"),
           std::string(R"(troupe_actor_handler_seconds_bucket{actor="prom",)"
                       R"(type="troupe::test::Counter",le="+Inf"} )"),
           "troupe_actor_handler_seconds_count" + labels + " ",
       }) {
    EXPECT_THAT(text, HasSubstr(expected));
  }
  // name{labels} value, every one of them.
  for (const std::string& line : Samples(text)) {
    EXPECT_TRUE(IsValidSample(line)) << line;
  }
}

TEST_F(PrometheusTest, HistogramBucketsAreCumulative) {
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "hist"});
  EXPECT_EQ(env_.Run(Burst(c, 2 * CellBase::kHandlerSampleEvery)),
            2 * CellBase::kHandlerSampleEvery);
  std::vector<double> counts;
  for (const std::string& line : Samples(env_.system().RenderPrometheus())) {
    if (line.rfind(R"(troupe_actor_handler_seconds_bucket{actor="hist")", 0) ==
        0) {
      counts.push_back(std::stod(line.substr(line.rfind(' ') + 1)));
    }
  }
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(ActorStats::kBuckets));
  EXPECT_TRUE(std::is_sorted(counts.begin(), counts.end()));
  EXPECT_EQ(counts.back(), 2);
}

// Label values used to be written as they were: an actor name with a
// quote or a backslash made the whole text unparsable. The text format
// wants \" and \\ (and \n) escaped inside label values.
TEST_F(PrometheusTest, LabelValuesAreEscaped) {
  ActorRef<Counter> c = env_.system().SpawnNamed<Counter>(
      SpawnOptions{.name = R"(say "hi"\now)"});
  ActorRef<Counter> d =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "two\nlines"});
  const std::string text = env_.system().RenderPrometheus();
  EXPECT_THAT(text, HasSubstr(R"(actor="say \"hi\"\\now")"));
  EXPECT_THAT(text, HasSubstr(R"(actor="two\nlines")"));
  EXPECT_THAT(text, HasSubstr(R"(_bucket{actor="say \"hi\"\\now",)"));
  // Every sample line still parses.
  for (const std::string& line : Samples(text)) {
    EXPECT_TRUE(IsValidSample(line)) << line;
  }
}

}  // namespace
}  // namespace troupe::test
