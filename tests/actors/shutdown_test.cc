// Graceful shutdown of the actor system (ActorSystem::Shutdown):
//   1. intake stops: every mailbox refuses new messages;
//   2. every actor drains what its mailbox already holds, children
//      stopping before their parents;
//   3. actors still running at the deadline are reported - name, type,
//      mailbox depth - and aborted;
//   4. aborted actors are torn down: asks fail, state kStopped, watchers
//      told, parents detached - and the system can then be destroyed.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
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

// The system is destroyed after this test (by the fixture) with the stuck
// actor's cell still referenced: before stragglers were torn down, that
// aborted the process ("actor cell ... destroyed while running").
TEST_F(ShutdownTest,
       AnActorStuckPastTheDeadlineIsReportedWithNameTypeAndDepth) {
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
  // Torn down by the time Shutdown returns, without OnStop (it could not
  // be awaited).
  EXPECT_EQ(stuck.cell()->state(), ActorState::kStopped);
  EXPECT_TRUE(stuck.cell()->IsTerminated());
  EXPECT_TRUE(IsActorStopped(stuck.cell()->termination_reason()))
      << stuck.cell()->termination_reason();
  EXPECT_EQ(stuck.MailboxDepth(), 0u);
  EXPECT_EQ(log->IndexOf("stuck stop count=0"), -1);
  EXPECT_EQ(env_.system().NumActors(), 0u);
}

// The ask whose handler was running when the runner was aborted used to be
// answered only when the cell was destroyed, which the ask itself
// prevented (it holds a reference): it hung.
TEST_F(ShutdownTest, AnAskPendingAtAStuckActorFailsAfterShutdown) {
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

// Watches counters and keeps the reasons of the Terminated notices.
struct WatchIt {
  explicit WatchIt(ActorRef<Counter> r) : ref(std::move(r)) {}
  ActorRef<Counter> ref;
};
class Mourner : public Actor<Mourner> {
 public:
  void Handle(const WatchIt& m) { Watch(m.ref); }
  void Handle(const Terminated& t) { reasons_.push_back(t.reason); }
  std::vector<absl::Status> Handle(Get /*unused*/) const { return reasons_; }

 private:
  std::vector<absl::Status> reasons_;
};

TEST_F(ShutdownTest, AnAbortedActorIsStoppedDetachedAndMournedByItsWatchers) {
  using Parent = Supervisor<RestartPolicy>;
  ActorRef<Parent> parent = env_.system().Spawn<Parent>(NewLog());
  ActorRef<Mourner> mourner = env_.system().Spawn<Mourner>();
  auto body = [](ActorRef<Parent> parent,
                 ActorRef<Mourner> mourner) -> Task<void> {
    SpawnCounter spawn("stuck");
    absl::StatusOr<ActorRef<Counter>> child =
        co_await parent.Ask(std::move(spawn));
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) co_return;
    WatchIt watch(*child);
    absl::Status watched = co_await mourner.Ask(std::move(watch));
    EXPECT_TRUE(watched.ok()) << watched;
    CancellationToken never;
    WaitFor wait(never);
    JoinHandle<absl::StatusOr<int>> in_handler =
        Spawn(child->Ask(std::move(wait)));
    co_await YieldUntil(
        [&] { return child->cell()->current_message() != nullptr; });
    JoinHandle<absl::StatusOr<int>> queued = Spawn(child->Ask(Get{}));
    co_await YieldUntil([&] { return child->MailboxDepth() == 2; });

    child->cell()->AbortRunner();
    co_await AwaitTermination(child->cell());
    for (auto* ask : {&in_handler, &queued}) {
      absl::StatusOr<int> r = co_await *ask;
      EXPECT_TRUE(IsActorStopped(r.status())) << r.status();
    }
    EXPECT_EQ(child->cell()->state(), ActorState::kStopped);
    EXPECT_TRUE(IsActorStopped(child->cell()->termination_reason()));
    EXPECT_TRUE(IsMailboxClosed(child->TrySend(Increment{1})));
    EXPECT_TRUE(parent.cell()->Children().empty());
    absl::StatusOr<std::vector<absl::Status>> reasons =
        co_await mourner.Ask(Get{});
    EXPECT_TRUE(reasons.ok()) << reasons.status();
    EXPECT_EQ(reasons.ok() ? reasons->size() : 0u, 1u);
    if (reasons.ok() && reasons->size() == 1) {
      EXPECT_TRUE(IsActorStopped((*reasons)[0])) << (*reasons)[0];
    }
  };
  env_.Run(body(parent, mourner));
}

// An aborted runner that never ran (no instance yet) is torn down too.
TEST_F(ShutdownTest, AnActorAbortedBeforeItEverRanStillStops) {
  ActorRef<Counter> c = env_.system().Spawn<Counter>();
  c.cell()->AbortRunner();
  env_.Run(AwaitTermination(c.cell()));
  EXPECT_EQ(c.cell()->state(), ActorState::kStopped);
  EXPECT_TRUE(IsMailboxClosed(c.TrySend(Increment{1})));
}

// Destroying the system inside the runtime cannot wait for a shutdown: it
// aborts every actor, which then tears itself down without touching the
// (gone) system.
TEST_F(ShutdownTest, ASystemDestroyedInsideTheRuntimeLeavesNoAskHanging) {
  auto body = [](Runtime* runtime) -> Task<void> {
    CellPtr<CellBase> cell;
    JoinHandle<absl::StatusOr<int>> ask;
    {
      ActorSystem system(*runtime, {.watchdog = false});
      ActorRef<Counter> c = system.Spawn<Counter>();
      cell = c.cell();
      CancellationToken never;
      WaitFor wait(never);
      ask = Spawn(c.Ask(std::move(wait)));
      co_await YieldUntil([&] { return cell->current_message() != nullptr; });
    }
    co_await AwaitTermination(cell);
    absl::StatusOr<int> r = co_await ask;
    EXPECT_TRUE(IsActorStopped(r.status())) << r.status();
    EXPECT_EQ(cell->state(), ActorState::kStopped);
  };
  env_.Run(body(&env_.runtime()));
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

// A stuck actor on either runtime: its asks fail and the system goes away
// cleanly once the shutdown has aborted it.
TYPED_TEST(EveryRuntimeShutdownTest,
           AShutdownPastAStuckActorLeavesNoAskHanging) {
  ActorSystem& system = this->env_.system();
  ActorRef<Counter> stuck = system.template Spawn<Counter>();
  auto body = [](ActorSystem* system, ActorRef<Counter> c) -> Task<void> {
    CancellationToken never;
    WaitFor wait(never);
    JoinHandle<absl::StatusOr<int>> in_handler = Spawn(c.Ask(std::move(wait)));
    co_await YieldUntil([&] { return c.cell()->current_message() != nullptr; });
    JoinHandle<absl::StatusOr<int>> queued = Spawn(c.Ask(Get{}));
    ShutdownReport report =
        co_await system->Shutdown(std::chrono::milliseconds(50));
    EXPECT_FALSE(report.clean);
    for (auto* ask : {&in_handler, &queued}) {
      absl::StatusOr<int> r = co_await *ask;
      // The queued ask may have found the mailbox closed already.
      EXPECT_TRUE(IsActorStopped(r.status()) || IsMailboxClosed(r.status()))
          << r.status();
    }
    EXPECT_EQ(c.cell()->state(), ActorState::kStopped);
  };
  this->env_.Run(body(&system, stuck));
}

}  // namespace
}  // namespace troupe::test
