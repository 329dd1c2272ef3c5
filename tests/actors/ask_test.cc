// Asks: the reply, and every way an ask can fail - each with the status
// code actor_ref.h documents, and none of them a hang:
//   FailedPrecondition  mailbox closed (the ask was never queued)
//   Aborted             the actor stopped before answering
//   DeadlineExceeded    Ask(m, timeout) timed out
//   Internal            the handler failed (threw)

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

template <typename F>
using AskTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(AskTest, RuntimeFlavours);

TYPED_TEST(AskTest, AnAskReturnsWhatTheHandlerReturns) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<std::vector<int>> {
    (void)co_await c.Send(Increment{3});
    (void)co_await c.Send(Increment{4});
    absl::StatusOr<int> plain = co_await c.Ask(Get{});
    CancellationToken open;
    open.Cancel();
    WaitFor wait(open);
    absl::StatusOr<int> async = co_await c.Ask(std::move(wait));
    co_return std::vector<int>{plain.value_or(-1), async.value_or(-1)};
  };
  EXPECT_EQ(this->env_.Run(body(counter)), (std::vector<int>{7, 7}));
}

TYPED_TEST(AskTest, AnAskToAVoidHandlerCompletesWithOkOnceHandled) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    absl::Status s = co_await c.Ask(Increment{5});
    EXPECT_TRUE(s.ok()) << s;
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.value_or(-1);
  };
  EXPECT_EQ(this->env_.Run(body(counter)), 5);
}

TYPED_TEST(AskTest, AnAskWhoseHandlerThrowsFailsWithInternal) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    absl::StatusOr<int> r = co_await c.Ask(Boom{});
    co_return r.status();
  };
  const absl::Status s = this->env_.Run(body(counter));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(IsHandlerFailed(s));
  EXPECT_FALSE(IsActorStopped(s));
  EXPECT_FALSE(IsMailboxClosed(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("boom"));
}

TYPED_TEST(AskTest, RunOnActorThatThrowsFailsWithInternal) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    absl::StatusOr<int> r = co_await c.RunOnActor(
        [](Counter&) -> int { throw std::runtime_error("closure threw"); });
    co_return r.status();
  };
  const absl::Status s = this->env_.Run(body(counter));
  EXPECT_TRUE(IsHandlerFailed(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("closure threw"));
}

TYPED_TEST(AskTest, AsksSendsAndTrySendsToAStoppedActorFailWithMailboxClosed) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  RequestStop(counter);
  auto body = [](ActorRef<Counter> c) -> Task<std::vector<absl::Status>> {
    co_await AwaitTermination(c.cell());
    absl::StatusOr<int> asked = co_await c.Ask(Get{});
    absl::Status sent = co_await c.Send(Increment{1});
    co_return std::vector<absl::Status>{asked.status(), sent,
                                        c.TrySend(Increment{1})};
  };
  for (const absl::Status& s : this->env_.Run(body(counter))) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_TRUE(IsMailboxClosed(s)) << s;
  }
}

TYPED_TEST(AskTest, AnAskToAnEmptyRefFailsWithMailboxClosed) {
  auto body = []() -> Task<absl::Status> {
    ActorRef<Counter> empty;
    absl::StatusOr<int> asked = co_await empty.Ask(Get{});
    co_return asked.status();
  };
  const absl::Status s = this->env_.Run(body());
  EXPECT_TRUE(IsMailboxClosed(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("empty ActorRef"));
}

// co_await ref.Ask(m) on a full mailbox takes the slow path (it waits for
// room, then for the reply). On the current-thread runtime that path is
// certain: the opener runs only once the asker has suspended.
TYPED_TEST(AskTest, AnAskAwaitedOnAFullMailboxWaitsForRoomThenAnswers) {
  ActorRef<Counter> counter = this->env_.system().template SpawnNamed<Counter>(
      SpawnOptions{.name = "one-slot", .mailbox_capacity = 1});
  (void)counter.TrySend(Increment{2});
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    CancellationToken gate;
    WaitFor wait(gate);
    (void)co_await c.Send(std::move(wait));
    co_await YieldUntil([&] { return c.MailboxDepth() == 1; });
    // The gated handler holds the one slot: this ask cannot be queued
    // until the opener lets it go.
    JoinHandle<void> opener = Spawn([](CancellationToken g) -> Task<void> {
      g.Cancel();
      co_return;
    }(gate));
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_await opener;
    co_return n.value_or(-1);
  };
  EXPECT_EQ(this->env_.Run(body(counter)), 2);
}

// The awaiting task is aborted while its ask waits for the reply: the
// awaiter withdraws from the reply, the handler still runs to its end and
// the actor answers the next ask. (ASan checks the reply block is freed
// exactly once.)
TYPED_TEST(AskTest, AnAskerAbortedWhileWaitingLeavesTheActorServing) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    CancellationToken gate;
    JoinHandle<int> asker =
        Spawn([](ActorRef<Counter> ref, CancellationToken g) -> Task<int> {
          WaitFor wait(std::move(g));
          absl::StatusOr<int> r = co_await ref.Ask(std::move(wait));
          co_return r.value_or(-1);
        }(c, gate));
    co_await YieldUntil([&] { return c.MailboxDepth() == 1; });
    asker.Abort();
    (void)co_await c.Send(Increment{4});
    gate.Cancel();
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.value_or(-1);
  };
  EXPECT_EQ(this->env_.Run(body(counter)), 4);
}

// The actor is held in a gated handler while the failure and the asks
// queue up behind it, so the order is the same on every runtime.
Task<std::vector<absl::Status>> AsksQueuedBehindAFailure(ActorRef<Counter> c,
                                                         int asks) {
  CancellationToken gate;
  WaitFor wait(gate);
  (void)co_await c.Send(std::move(wait));
  (void)co_await c.Send(Boom{});
  std::vector<JoinHandle<absl::StatusOr<int>>> pending;
  pending.reserve(asks);
  for (int i = 0; i < asks; ++i) pending.push_back(Spawn(c.Ask(Get{})));
  // The gated message, the failure and every ask are in the mailbox.
  const std::size_t queued = 2 + static_cast<std::size_t>(asks);
  co_await YieldUntil([&] { return c.MailboxDepth() == queued; });
  gate.Cancel();
  std::vector<absl::Status> out;
  for (auto& h : pending) {
    absl::StatusOr<int> r = co_await h;
    out.push_back(r.status());
  }
  co_return out;
}

TYPED_TEST(AskTest, AsksQueuedAtAnActorThatFailsAndIsStoppedFailWithAborted) {
  ActorSystemOptions options = this->env_.Options();
  options.top_level_supervision = Always(Directive::kStop);
  ActorRef<Counter> counter =
      this->env_.StartSystem(options).template Spawn<Counter>();
  const std::vector<absl::Status> results =
      this->env_.Run(AsksQueuedBehindAFailure(counter, 3));
  ASSERT_EQ(results.size(), 3u);
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
    EXPECT_TRUE(IsActorStopped(s)) << s;
  }
  // The asks fail as the mailbox is dropped; the termination follows.
  this->env_.Run([](ActorRef<Counter> c) -> Task<void> {
    co_await c.cell()->Terminated();
  }(counter));
  const absl::Status reason = counter.cell()->termination_reason();
  EXPECT_TRUE(IsHandlerFailed(reason)) << reason;
}

TYPED_TEST(AskTest, AsksQueuedAtAnActorThatIsRestartedAreAnsweredByTheNewOne) {
  ActorRef<Counter> counter = this->env_.system().template Spawn<Counter>();
  const std::vector<absl::Status> results =
      this->env_.Run(AsksQueuedBehindAFailure(counter, 3));
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(counter.cell()->Stats().restarts, 1u);
}

// ---- timeouts, on the manual clock ----

using AskTimeoutTest = ManualTimeTest;

TEST_F(AskTimeoutTest, AnAskThatOutlastsItsTimeoutFailsWithDeadlineExceeded) {
  ActorRef<Counter> counter = env_.system().Spawn<Counter>();
  auto body = [this](ActorRef<Counter> c) -> Task<void> {
    absl::StatusOr<int> r = co_await c.Ask(Nap{seconds(10)}, seconds(2));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
        << r.status();
    EXPECT_EQ(Elapsed(), seconds(2));
    // The handler itself runs on: the next ask waits for it.
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    EXPECT_EQ(n.value_or(-1), 0);
    EXPECT_EQ(Elapsed(), seconds(10));
  };
  env_.Run(body(counter));
}

TEST_F(AskTimeoutTest, AnAskAnsweredWithinItsTimeoutReturnsTheReply) {
  ActorRef<Counter> counter = env_.system().Spawn<Counter>();
  (void)counter.TrySend(Increment{9});
  auto body = [this](ActorRef<Counter> c) -> Task<void> {
    absl::StatusOr<int> r = co_await c.Ask(Nap{seconds(1)}, seconds(2));
    EXPECT_EQ(r.value_or(-1), 9);
    EXPECT_EQ(Elapsed(), seconds(1));
  };
  env_.Run(body(counter));
}

TEST_F(AskTimeoutTest, AnAskThatTimedOutWaitingForMailboxSpaceIsNeverHandled) {
  // Capacity 1: the napping message itself holds the one slot.
  ActorRef<Counter> counter = env_.system().SpawnNamed<Counter>(
      SpawnOptions{.name = "tiny", .mailbox_capacity = 1});
  auto body = [this](ActorRef<Counter> c) -> Task<void> {
    (void)co_await c.Send(Nap{seconds(10)});
    co_await YieldUntil([&] { return c.MailboxDepth() == 1; });
    absl::Status s = co_await c.Ask(Increment{100}, seconds(1));
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
    EXPECT_EQ(Elapsed(), seconds(1));
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    EXPECT_EQ(n.value_or(-1), 0) << "the abandoned ask was delivered";
  };
  env_.Run(body(counter));
}

TEST_F(AskTimeoutTest, TheStatusPredicatesTellTheFailuresApart) {
  ActorRef<Counter> counter = env_.system().Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    absl::StatusOr<int> r = co_await c.Ask(Nap{seconds(10)}, seconds(1));
    co_return r.status();
  };
  const absl::Status deadline = env_.Run(body(counter));
  EXPECT_EQ(deadline.code(), absl::StatusCode::kDeadlineExceeded) << deadline;
  EXPECT_FALSE(IsHandlerFailed(deadline));
  EXPECT_FALSE(IsActorStopped(deadline));
  EXPECT_FALSE(IsMailboxClosed(deadline));
  const absl::Status closed = MailboxClosedError("a");
  EXPECT_TRUE(IsMailboxClosed(closed));
  EXPECT_FALSE(IsActorStopped(closed));
  EXPECT_FALSE(IsHandlerFailed(closed));
}

}  // namespace
}  // namespace troupe::test
