// Graceful shutdown of the actor system (ActorSystem::Shutdown):
//   1. intake stops: every mailbox refuses new messages;
//   2. every actor drains what its mailbox already holds, children
//      stopping before their parents;
//   3. actors still running at the deadline are reported - name, type,
//      mailbox depth - and aborted.

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using ShutdownTest = ManualTimeTest;

// The status code an ask ended with.
Task<absl::StatusCode> CodeOf(JoinHandle<absl::StatusOr<int>> ask) {
  absl::StatusOr<int> r = co_await ask;
  co_return r.status().code();
}

TEST_F(ShutdownTest, ShutdownLetsEveryMailboxDrainBeforeTheDeadline) {
  auto log = NewLog();
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "c"}, log);
  // Queued before the actor has run at all.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.TrySend(Nap{seconds(1)}).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.TrySend(Increment{1}).ok());
  const ShutdownReport report =
      env_.Run(env_.system().Shutdown(std::chrono::hours(1)));
  EXPECT_TRUE(report.clean) << report.ToString();
  EXPECT_THAT(report.stragglers, IsEmpty());
  EXPECT_EQ(Elapsed(), seconds(3)) << "the naps did not all run";
  EXPECT_EQ(log->IndexOf("c stop count=5"), 1) << "increments were lost";
}

TEST_F(ShutdownTest, ShutdownStopsChildrenBeforeTheirParents) {
  auto log = NewLog();
  auto top = env_.system().SpawnNamed<Supervisor<RestartPolicy>>(
      SpawnOptions{.name = "top"}, log);
  auto body = [](ActorSystem* system,
                 ActorRef<Supervisor<RestartPolicy>> top) -> Task<void> {
    SpawnSupervisor spawn_mid("mid");
    absl::StatusOr<ActorRef<Supervisor<RestartPolicy>>> mid =
        co_await top.Ask(std::move(spawn_mid));
    EXPECT_TRUE(mid.ok()) << mid.status();
    SpawnCounter spawn_leaf("leaf");
    absl::StatusOr<ActorRef<Counter>> leaf =
        co_await mid->Ask(std::move(spawn_leaf));
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    SpawnCounter spawn_side("side");
    absl::StatusOr<ActorRef<Counter>> side =
        co_await top.Ask(std::move(spawn_side));
    EXPECT_TRUE(side.ok()) << side.status();
    // The references are still held: only the shutdown stops them.
    ShutdownReport report = co_await system->Shutdown(hours(1));
    EXPECT_TRUE(report.clean) << report.ToString();
  };
  env_.Run(body(&env_.system(), top));
  const int leaf = log->IndexOf("leaf stop count=0");
  const int side = log->IndexOf("side stop count=0");
  const int mid = log->IndexOf("mid stop");
  const int top_stop = log->IndexOf("top stop");
  ASSERT_GE(leaf, 0);
  ASSERT_GE(side, 0);
  ASSERT_GE(mid, 0);
  ASSERT_GE(top_stop, 0);
  EXPECT_LT(leaf, mid);
  EXPECT_LT(mid, top_stop);
  EXPECT_LT(side, top_stop);
}

TEST_F(ShutdownTest, ASecondShutdownReturnsAtOnce) {
  (void)env_.system().Spawn<Counter>();
  EXPECT_TRUE(env_.Run(env_.system().Shutdown(seconds(1))).clean);
  EXPECT_TRUE(env_.Run(env_.system().Shutdown(seconds(1))).clean);
  EXPECT_EQ(Elapsed(), Duration(0));
}

TEST_F(ShutdownTest, AnActorThatStopsItselfStillHandlesWhatWasQueued) {
  auto log = NewLog();
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "c"}, log);
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    // Held in a gated handler while the stopping closure and three
    // increments queue up behind it.
    CancellationToken gate;
    WaitFor wait(gate);
    (void)co_await c.Send(std::move(wait));
    co_await YieldUntil([&] { return c.cell()->current_message() != nullptr; });
    JoinHandle<absl::StatusOr<int>> stopping =
        Spawn(c.RunOnActor([](Counter& self) {
          self.Stop();
          return 0;
        }));
    co_await YieldUntil([&] { return c.MailboxDepth() == 2; });
    for (int i = 0; i < 3; ++i) (void)co_await c.Send(Increment{1});
    gate.Cancel();
    absl::StatusOr<int> stopped = co_await stopping;
    EXPECT_TRUE(stopped.ok()) << stopped.status();
    co_await AwaitTermination(c.cell());
    co_return co_await c.Send(Increment{1});
  };
  const absl::Status after = env_.Run(body(c));
  EXPECT_TRUE(IsMailboxClosed(after)) << after;
  EXPECT_EQ(log->IndexOf("c stop count=3"), 1)
      << ::testing::PrintToString(log->Lines());
}

// BUG: an actor still running at the shutdown deadline is aborted but
// never marked stopped, and its cell, still held by the system, aborts the
// whole process when the system is destroyed ("troupe: BUG: actor cell ...
// destroyed while running"). Enable once stragglers are torn down.
TEST_F(ShutdownTest,
       DISABLED_AnActorStuckPastTheDeadlineIsReportedWithNameTypeAndDepth) {
  auto log = NewLog();
  ActorRef<Counter> stuck =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "stuck"}, log);
  ActorRef<Counter> fine =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "fine"}, log);
  CancellationToken never;
  ASSERT_TRUE(stuck.TrySend(WaitFor(never)).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stuck.TrySend(Increment{1}).ok());
  ASSERT_TRUE(fine.TrySend(Increment{1}).ok());
  const ShutdownReport report = env_.Run(env_.system().Shutdown(seconds(2)));
  EXPECT_EQ(Elapsed(), seconds(2));
  EXPECT_FALSE(report.clean);
  ASSERT_EQ(report.stragglers.size(), 1u) << report.ToString();
  EXPECT_EQ(report.stragglers[0].name, "stuck");
  EXPECT_THAT(report.stragglers[0].type, HasSubstr("Counter"));
  // Three messages wait behind the one being handled, which counts too:
  // it stays in the mailbox until its handler ends.
  EXPECT_EQ(report.stragglers[0].mailbox_depth, 4u);
  EXPECT_EQ(env_.logged().CountContaining({"stuck", "Counter"}), 1);
  EXPECT_GE(log->IndexOf("fine stop count=1"), 0);
}

// BUG: as above; besides, an ask whose handler was running when the
// runner was aborted is answered only when the cell is destroyed, which
// the ask itself prevents (it holds a reference): it hangs.
TEST_F(ShutdownTest, DISABLED_AnAskPendingAtAStuckActorFailsAfterShutdown) {
  ActorRef<Counter> stuck = env_.system().Spawn<Counter>();
  auto body = [](ActorSystem* system, ActorRef<Counter> c) -> Task<void> {
    CancellationToken never;
    WaitFor wait(never);
    JoinHandle<absl::StatusOr<int>> in_handler = Spawn(c.Ask(std::move(wait)));
    co_await YieldUntil([&] { return c.cell()->current_message() != nullptr; });
    JoinHandle<absl::StatusOr<int>> queued = Spawn(c.Ask(Get{}));
    co_await YieldUntil([&] { return c.MailboxDepth() == 2; });
    ShutdownReport report = co_await system->Shutdown(seconds(1));
    EXPECT_FALSE(report.clean);
    // Bounded waits: a hang shows as DeadlineExceeded.
    for (auto* ask : {&in_handler, &queued}) {
      Task<absl::StatusCode> outcome = CodeOf(std::move(*ask));
      absl::StatusOr<absl::StatusCode> r =
          co_await Timeout(hours(1), std::move(outcome));
      EXPECT_TRUE(r.ok()) << "the ask hung: " << r.status();
      EXPECT_EQ(r.value_or(absl::StatusCode::kOk), absl::StatusCode::kAborted);
    }
  };
  env_.Run(body(&env_.system(), stuck));
}

template <typename F>
using EveryRuntimeShutdownTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(EveryRuntimeShutdownTest, RuntimeFlavours);

TYPED_TEST(EveryRuntimeShutdownTest, ShutdownDrainsManyBusyActors) {
  auto log = NewLog();
  ActorSystem& system = this->env_.system();
  std::vector<ActorRef<Counter>> counters;
  counters.reserve(8);
  for (int i = 0; i < 8; ++i) {
    counters.push_back(system.template Spawn<Counter>(log));
  }
  auto body = [](ActorSystem* system,
                 std::vector<ActorRef<Counter>> cs) -> Task<ShutdownReport> {
    for (int round = 0; round < 100; ++round) {
      for (auto& c : cs) (void)co_await c.Send(Increment{1});
    }
    co_return co_await system->Shutdown(std::chrono::seconds(60));
  };
  const ShutdownReport report = this->env_.Run(body(&system, counters));
  EXPECT_TRUE(report.clean) << report.ToString();
  EXPECT_EQ(log->CountContaining({"stop count=100"}), 8);
}

TYPED_TEST(EveryRuntimeShutdownTest, AfterShutdownEveryMessageIsRefused) {
  ActorSystem& system = this->env_.system();
  ActorRef<Counter> c = system.template Spawn<Counter>();
  (void)system.BlockingShutdown(std::chrono::seconds(60));
  EXPECT_TRUE(IsMailboxClosed(c.TrySend(Increment{1})));
  auto body = [](ActorRef<Counter> c) -> Task<std::vector<absl::Status>> {
    absl::Status sent = co_await c.Send(Increment{1});
    absl::StatusOr<int> asked = co_await c.Ask(Get{});
    co_return std::vector<absl::Status>{sent, asked.status()};
  };
  for (const absl::Status& s : this->env_.Run(body(c))) {
    EXPECT_TRUE(IsMailboxClosed(s)) << s;
  }
}

}  // namespace
}  // namespace troupe::test
