// The opt-in reentrant mode (actor.h, "Reentrant actors"): while an async
// handler of a reentrant actor awaits, the actor takes further messages;
// handlers still never run at the same time (the members of the actor's
// strand), async handlers begin in mailbox order, a stop waits for the
// handlers in flight, and a failure aborts them - their asks fail, none
// hangs. The default (exclusive) mode is covered by actor_test.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

using ::testing::ElementsAre;

// Waits for `gate`, noting when it begins and ends.
struct Hold {
  Hold(std::string n, CancellationToken g)
      : name(std::move(n)), gate(std::move(g)) {}
  std::string name;
  CancellationToken gate;
};
// Adds one to a plain counter across a few suspension points.
struct Bump {};

class Juggler : public LoggingActor<Juggler> {
 public:
  static constexpr bool kReentrant = true;
  explicit Juggler(std::shared_ptr<EventLog> log)
      : LoggingActor(std::move(log)) {}

  Task<int> Handle(Hold h) {
    Note("begin " + h.name);
    co_await h.gate.Cancelled();
    Note("end " + h.name);
    co_return count_;
  }
  Task<int> Handle(Bump /*unused*/) {
    const int before = count_;
    co_await YieldNow();
    // Reentrant: another Bump may have run meanwhile, so re-read after
    // the await (the documented risk) - but never at the same time.
    count_ = count_ + 1;
    co_await YieldNow();
    (void)before;
    co_return count_;
  }
  void Handle(Increment m) {
    Note("increment");
    count_ += m.by;
  }
  int Handle(Get /*unused*/) const { return count_; }
  Task<int> Handle(Boom /*unused*/) {
    co_await YieldNow();
    throw std::runtime_error("juggler boom");
  }
  void OnStop() { Note("stop"); }

 private:
  int count_ = 0;
};

template <typename F>
class ReentrantTest : public EveryRuntimeTest<F> {};
TYPED_TEST_SUITE(ReentrantTest, RuntimeFlavours);

TYPED_TEST(ReentrantTest, OtherMessagesAreHandledWhileAHandlerAwaits) {
  std::shared_ptr<EventLog> log = NewLog();
  ActorRef<Juggler> j = this->env_.system().template SpawnNamed<Juggler>(
      SpawnOptions{.name = "j"}, log);
  auto body = [](ActorRef<Juggler> j, EventLog* log) -> Task<void> {
    CancellationToken gate;
    JoinHandle<absl::StatusOr<int>> held = Spawn(j.Ask(Hold("a", gate)));
    co_await YieldUntil([log] { return log->IndexOf("j begin a") >= 0; });
    // An exclusive actor would not answer this until the gate opens.
    EXPECT_TRUE(j.TrySend(Increment{5}).ok());
    absl::StatusOr<int> n = co_await j.Ask(Get{});
    EXPECT_EQ(n.value_or(-1), 5);
    EXPECT_FALSE(held.IsFinished());
    gate.Cancel();
    absl::StatusOr<int> after = co_await held;
    EXPECT_EQ(after.value_or(-1), 5);
  };
  this->env_.Run(body(j, log.get()));
  EXPECT_THAT(log->Lines(),
              ElementsAre("j start", "j begin a", "j increment", "j end a"));
}

TYPED_TEST(ReentrantTest, AsyncHandlersBeginInMailboxOrder) {
  std::shared_ptr<EventLog> log = NewLog();
  ActorRef<Juggler> j = this->env_.system().template SpawnNamed<Juggler>(
      SpawnOptions{.name = "j"}, log);
  CancellationToken gate;
  // Queued before the actor first runs, so they sit in one batch.
  EXPECT_TRUE(j.TrySend(Hold("a", gate)).ok());
  EXPECT_TRUE(j.TrySend(Increment{1}).ok());
  EXPECT_TRUE(j.TrySend(Hold("b", gate)).ok());
  EXPECT_TRUE(j.TrySend(Hold("c", gate)).ok());
  absl::StatusOr<int> n = j.BlockingAsk(this->env_.runtime(), Get{});
  EXPECT_EQ(n.value_or(-1), 1);
  std::vector<std::string> lines = log->Lines();
  EXPECT_THAT(lines, ElementsAre("j start", "j begin a", "j increment",
                                 "j begin b", "j begin c"));
  gate.Cancel();
}

// Many bumps in flight at once on a two-worker runtime: handlers interleave
// only at their awaits, so the plain counter ends exact (and TSAN sees no
// race).
TYPED_TEST(ReentrantTest, InterleavedHandlersNeverRunAtTheSameTime) {
  ActorRef<Juggler> j = this->env_.system().template Spawn<Juggler>(nullptr);
  constexpr int kBumps = 400;
  auto body = [](ActorRef<Juggler> j) -> Task<int> {
    std::vector<JoinHandle<absl::StatusOr<int>>> asks;
    for (int i = 0; i < kBumps; ++i) asks.push_back(Spawn(j.Ask(Bump{})));
    for (auto& a : asks) {
      absl::StatusOr<int> r = co_await a;
      EXPECT_TRUE(r.ok()) << r.status();
    }
    absl::StatusOr<int> n = co_await j.Ask(Get{});
    co_return n.value_or(-1);
  };
  EXPECT_EQ(this->env_.Run(body(j)), kBumps);
}

TYPED_TEST(ReentrantTest, AStopWaitsForTheHandlersInFlight) {
  std::shared_ptr<EventLog> log = NewLog();
  ActorRef<Juggler> j = this->env_.system().template SpawnNamed<Juggler>(
      SpawnOptions{.name = "j"}, log);
  auto body = [](ActorRef<Juggler> j, EventLog* log) -> Task<void> {
    CancellationToken gate;
    JoinHandle<absl::StatusOr<int>> held = Spawn(j.Ask(Hold("a", gate)));
    co_await YieldUntil([log] { return log->IndexOf("j begin a") >= 0; });
    j.Stop();
    co_await YieldNow();
    EXPECT_FALSE(j.cell()->IsTerminated());
    gate.Cancel();
    absl::StatusOr<int> after = co_await held;
    EXPECT_TRUE(after.ok()) << after.status();
    co_await j.cell()->Terminated();
  };
  this->env_.Run(body(j, log.get()));
  EXPECT_THAT(log->Lines(),
              ElementsAre("j start", "j begin a", "j end a", "j stop"));
}

// A failing handler fails the actor; the restart aborts the handlers still
// in flight, whose asks fail with "actor stopped" instead of hanging.
TYPED_TEST(ReentrantTest, AFailureAbortsTheHandlersInFlightAndTheirAsksFail) {
  std::shared_ptr<EventLog> log = NewLog();
  ActorRef<Juggler> j = this->env_.system().template SpawnNamed<Juggler>(
      SpawnOptions{.name = "j"}, log);
  auto body = [](ActorRef<Juggler> j, EventLog* log) -> Task<void> {
    CancellationToken never;
    JoinHandle<absl::StatusOr<int>> held = Spawn(j.Ask(Hold("a", never)));
    co_await YieldUntil([log] { return log->IndexOf("j begin a") >= 0; });
    absl::StatusOr<int> boom = co_await j.Ask(Boom{});
    EXPECT_TRUE(IsHandlerFailed(boom.status())) << boom.status();
    absl::StatusOr<int> aborted = co_await held;
    EXPECT_TRUE(IsActorStopped(aborted.status())) << aborted.status();
    // Restarted with fresh state, and answering again.
    absl::StatusOr<int> fresh = co_await j.Ask(Get{});
    EXPECT_EQ(fresh.value_or(-1), 0);
  };
  this->env_.Run(body(j, log.get()));
  EXPECT_EQ(log->CountContaining({"restart", "juggler boom"}), 1);
  EXPECT_EQ(log->CountContaining({"end a"}), 0);
}

}  // namespace
}  // namespace troupe::test
