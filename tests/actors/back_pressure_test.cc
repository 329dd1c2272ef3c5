// Back-pressure on an actor's mailbox: a sender waits for room only while
// there is none. The mailbox reports the room of handled messages in
// batches; the actor gives it all back whenever it steps away from its
// mailbox, so a sender is never left waiting on room that exists.

#include <chrono>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/settle.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"

namespace troupe::test {
namespace {

using std::chrono::seconds;

Task<absl::Status> SendIncrement(ActorRef<Counter> to, int by) {
  co_return co_await to.Send(Increment{by});
}

using BackPressureTest = ManualTimeTest;

TEST_F(BackPressureTest,
       ASenderGetsTheRoomOfHandledMessagesWhileTheActorAwaitsInAHandler) {
  // 16 slots: fewer than the values a mailbox takes before it reports
  // their room when no sender waits.
  ActorRef<Counter> counter = env_.system().SpawnNamed<Counter>(
      SpawnOptions{.name = "counter", .mailbox_capacity = 16});
  CancellationToken gate;
  env_.Run([](ActorRef<Counter> counter, CancellationToken gate) -> Task<void> {
    // Fill the mailbox: 15 increments, then a handler that waits at the
    // gate. The actor handles the increments and then awaits.
    for (int i = 0; i < 15; ++i) {
      EXPECT_TRUE(counter.TrySend(Increment{1}).ok());
    }
    EXPECT_TRUE(counter.TrySend(WaitFor(gate)).ok());
    co_await Settle();
    // 15 slots are free again: this send must not wait (it would wait for
    // good if the room of the handled increments stayed unreported - the
    // actor handles nothing until the gate opens).
    absl::StatusOr<absl::Status> sent =
        co_await Timeout(seconds(1), SendIncrement(counter, 100));
    EXPECT_TRUE(sent.ok()) << "the send waited: " << sent.status();
    EXPECT_TRUE(sent.value_or(absl::OkStatus()).ok())
        << sent.value_or(absl::OkStatus());
    gate.Cancel();
    absl::StatusOr<int> count = co_await counter.Ask(Get{});
    EXPECT_EQ(count.value_or(-1), 115) << count.status();
  }(counter, gate));
}

}  // namespace
}  // namespace troupe::test
