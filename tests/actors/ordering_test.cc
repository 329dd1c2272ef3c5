// Message order and exclusive state: each sender's messages are handled in
// the order it sent them, whoever else is sending; and a handler - even one
// that awaits another actor's reply - has the state to itself until it
// finishes, so concurrent senders never lose an update.

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/actors/order_recorder.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

// ---- per-sender ordering ----

// Sends 0..n-1 alternating the two paths into a mailbox: Send (waits for
// space) for even numbers, TrySend (retried after a yield while full) for
// odd ones.
Task<void> SendNumbered(ActorRef<Recorder> to, int sender, int n) {
  for (int seq = 0; seq < n; ++seq) {
    if (seq % 2 == 0) {
      absl::Status s = co_await to.Send(Numbered{sender, seq});
      EXPECT_TRUE(s.ok()) << s;
      continue;
    }
    for (;;) {
      absl::Status s = to.TrySend(Numbered{sender, seq});
      if (s.ok()) break;
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
      co_await YieldNow();
    }
  }
}

Task<std::vector<Numbered>> SendFromManyThenCollect(ActorRef<Recorder> to,
                                                    int senders,
                                                    int per_sender) {
  std::vector<JoinHandle<void>> handles;
  handles.reserve(senders);
  for (int s = 0; s < senders; ++s) {
    handles.push_back(Spawn(SendNumbered(to, s, per_sender)));
  }
  for (auto& h : handles) co_await h;
  absl::StatusOr<std::vector<Numbered>> seen = co_await to.Ask(History{});
  co_return seen.ok() ? *std::move(seen) : std::vector<Numbered>{};
}

template <typename F>
using OrderingTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(OrderingTest, RuntimeFlavours);

TYPED_TEST(OrderingTest, EachSendersMessagesArriveInTheOrderItSentThem) {
  // A small mailbox: senders keep meeting a full one, so both the fast
  // path and the queue of waiting senders carry messages.
  ActorRef<Recorder> recorder =
      this->env_.system().template SpawnNamed<Recorder>(
          SpawnOptions{.name = "recorder", .mailbox_capacity = 8});
  const std::vector<Numbered> seen =
      this->env_.Run(SendFromManyThenCollect(recorder, 6, 400));
  ExpectPerSenderOrder(seen, 6, 400);
}

TYPED_TEST(OrderingTest,
           ManySendersKeepTheirOrderThroughAMailboxThatAdmitsWaitersInBatches) {
  // 256 slots: waiting senders are admitted per 32 messages taken, so the
  // mailbox swings between a queue of waiters and free pushes.
  ActorRef<Recorder> recorder =
      this->env_.system().template SpawnNamed<Recorder>(
          SpawnOptions{.name = "recorder", .mailbox_capacity = 256});
  const std::vector<Numbered> seen =
      this->env_.Run(SendFromManyThenCollect(recorder, 24, 1000));
  ExpectPerSenderOrder(seen, 24, 1000);
}

TYPED_TEST(OrderingTest, PlainThreadsSendingBlockingKeepTheirOwnOrderToo) {
  ActorRef<Recorder> recorder =
      this->env_.system().template SpawnNamed<Recorder>(
          SpawnOptions{.name = "recorder", .mailbox_capacity = 4});
  constexpr int kThreads = 3;
  constexpr int kEach = 300;
  std::atomic<int> done{0};
  CancellationToken all_sent;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int seq = 0; seq < kEach; ++seq) {
        EXPECT_TRUE(recorder.BlockingSend(Numbered{t, seq}).ok());
      }
      if (done.fetch_add(1) + 1 == kThreads) all_sent.Cancel();
    });
  }
  // The current-thread runtime makes progress only inside BlockOn: drive
  // it until the last thread has sent everything.
  auto drive = [](CancellationToken until) -> Task<void> {
    co_await until.Cancelled();
  };
  this->env_.Run(drive(all_sent));
  for (auto& t : threads) t.join();
  absl::StatusOr<std::vector<Numbered>> seen =
      recorder.BlockingAsk(this->env_.runtime(), History{});
  ASSERT_TRUE(seen.ok()) << seen.status();
  ExpectPerSenderOrder(*seen, kThreads, kEach);
}

// ---- exclusive state across awaits ----

struct Echo {
  int value;
};
// Answers after a turn of its own: a real await for whoever asks.
class Echoer : public Actor<Echoer> {
 public:
  Task<int> Handle(Echo e) {
    co_await YieldNow();
    co_return e.value;
  }
};

struct AddViaEcho {
  int by;
};
struct Total {};
struct MostAtOnce {};

// Reads its total, awaits another actor's reply (and yields), then writes
// the total back: any interleaving with another message loses updates,
// and, on the multi-thread runtime, is a data race for TSAN.
class Accumulator : public Actor<Accumulator> {
 public:
  explicit Accumulator(ActorRef<Echoer> echo) : echo_(std::move(echo)) {}

  Task<void> Handle(AddViaEcho m) {
    ++inside_;
    most_inside_ = std::max(most_inside_, inside_);
    const long before = total_;
    absl::StatusOr<int> echoed = co_await echo_.Ask(Echo{m.by});
    co_await YieldNow();
    total_ = before + (echoed.ok() ? *echoed : 0);
    --inside_;
  }
  long Handle(Total /*unused*/) const { return total_; }
  int Handle(MostAtOnce /*unused*/) const { return most_inside_; }

 private:
  ActorRef<Echoer> echo_;
  long total_ = 0;
  int inside_ = 0;
  int most_inside_ = 0;
};

Task<void> TellAdds(ActorRef<Accumulator> to, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await to.Send(AddViaEcho{1});
    EXPECT_TRUE(s.ok()) << s;
  }
}
Task<void> AskAdds(ActorRef<Accumulator> to, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await to.Ask(AddViaEcho{1});
    EXPECT_TRUE(s.ok()) << s;
  }
}

struct Outcome {
  long total = -1;
  int most_at_once = -1;
};

Task<Outcome> ManySendersThenRead(ActorRef<Accumulator> to, int tellers,
                                  int askers, int each) {
  std::vector<JoinHandle<void>> handles;
  handles.reserve(tellers + askers);
  for (int i = 0; i < tellers; ++i)
    handles.push_back(Spawn(TellAdds(to, each)));
  for (int i = 0; i < askers; ++i) handles.push_back(Spawn(AskAdds(to, each)));
  for (auto& h : handles) co_await h;
  Outcome out;
  absl::StatusOr<long> total = co_await to.Ask(Total{});
  absl::StatusOr<int> most = co_await to.Ask(MostAtOnce{});
  if (total.ok()) out.total = *total;
  if (most.ok()) out.most_at_once = *most;
  co_return out;
}

TYPED_TEST(OrderingTest,
           AnAwaitingHandlerKeepsTheStateToItselfUnderManySenders) {
  ActorSystem& system = this->env_.system();
  ActorRef<Echoer> echo = system.template Spawn<Echoer>();
  ActorRef<Accumulator> acc = system.template SpawnNamed<Accumulator>(
      SpawnOptions{.name = "acc", .mailbox_capacity = 16}, echo);
  const Outcome out = this->env_.Run(ManySendersThenRead(acc, 6, 2, 150));
  EXPECT_EQ(out.total, 8 * 150) << "updates were lost";
  EXPECT_EQ(out.most_at_once, 1) << "two handlers ran at once";
}

}  // namespace
}  // namespace troupe::test
