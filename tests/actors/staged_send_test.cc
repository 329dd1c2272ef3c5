// Staged tells (channels/send_stage.h): a task that tells one actor
// several times in one run batches those tells in a thread-local stage
// and publishes them with one lock hold. These tests pin down what the
// batching must not change: each sender's order (against its own asks and
// TrySends too), every tell delivered even if the sender lets go of the
// actor in the same run, the mailbox's capacity, and no tell leaked or
// double-destroyed when the actor stops with tells staged.

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "channels/oneshot.h"
#include "executor/join_handle.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/actors/order_recorder.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

// Bursts of tells (staged after the first of each run), every 17th number
// an ask and every 29th a TrySend: both must publish the staged tells
// before their own message.
Task<void> SendBursts(ActorRef<Recorder> to, int sender, int n) {
  for (int seq = 0; seq < n; ++seq) {
    if (seq % 17 == 16) {
      absl::StatusOr<int> r = co_await to.Ask(NumberedAsk{sender, seq});
      EXPECT_TRUE(r.ok() && *r == seq) << r.status();
    } else if (seq % 29 == 28) {
      for (;;) {
        absl::Status s = to.TrySend(Numbered{sender, seq});
        if (s.ok()) break;
        EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
        co_await YieldNow();
      }
    } else {
      absl::Status s = co_await to.Send(Numbered{sender, seq});
      EXPECT_TRUE(s.ok()) << s;
    }
  }
}

Task<std::vector<Numbered>> BurstFromManyThenCollect(ActorRef<Recorder> to,
                                                     int senders,
                                                     int per_sender) {
  std::vector<JoinHandle<void>> handles;
  handles.reserve(senders);
  for (int s = 0; s < senders; ++s) {
    handles.push_back(Spawn(SendBursts(to, s, per_sender)));
  }
  for (auto& h : handles) co_await h;
  absl::StatusOr<std::vector<Numbered>> seen = co_await to.Ask(History{});
  co_return seen.ok() ? *std::move(seen) : std::vector<Numbered>{};
}

template <typename F>
using StagedSendTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(StagedSendTest, RuntimeFlavours);

TYPED_TEST(StagedSendTest,
           BurstsOfTellsKeepEachSendersOrderAgainstItsOwnAsksAndTrySends) {
  ActorRef<Recorder> recorder =
      this->env_.system().template SpawnNamed<Recorder>(
          SpawnOptions{.name = "recorder", .mailbox_capacity = 1024});
  const std::vector<Numbered> seen =
      this->env_.Run(BurstFromManyThenCollect(recorder, 8, 3000));
  ExpectPerSenderOrder(seen, 8, 3000);
}

TYPED_TEST(StagedSendTest, BurstsIntoASmallMailboxKeepOrderAndLoseNothing) {
  // Capacity 8: stages get a few slots at a time and keep running out;
  // senders keep meeting a full mailbox and waiting.
  ActorRef<Recorder> recorder =
      this->env_.system().template SpawnNamed<Recorder>(
          SpawnOptions{.name = "recorder", .mailbox_capacity = 8});
  const std::vector<Numbered> seen =
      this->env_.Run(BurstFromManyThenCollect(recorder, 6, 2000));
  ExpectPerSenderOrder(seen, 6, 2000);
}

// Counts what it handles and reports the count when it stops.
class CountUntilStopped : public Actor<CountUntilStopped> {
 public:
  explicit CountUntilStopped(std::shared_ptr<OneshotSender<int>> report)
      : report_(std::move(report)) {}
  void Handle(Numbered /*unused*/) { ++count_; }
  void OnStop() { (void)report_->Send(count_); }

 private:
  std::shared_ptr<OneshotSender<int>> report_;
  int count_ = 0;
};

// Tells `n` in one run and drops the last ref in the same run: the tells
// still staged then must hold the stream open (a sender of the mailbox)
// until they are published at the end of the run.
Task<void> BurstThenLetGo(ActorRef<CountUntilStopped> to, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await to.Send(Numbered{0, i});
    EXPECT_TRUE(s.ok()) << s;
  }
  CellPtr<ActorCell<CountUntilStopped>> cell = to.cell();  // not a sender
  to = ActorRef<CountUntilStopped>();
  EXPECT_TRUE(cell->mailbox()->HasSenders())
      << "the stage holding the burst's tells counts as a sender";
}

TYPED_TEST(StagedSendTest,
           ASenderThatDropsTheLastRefRightAfterABurstStillDeliversEveryTell) {
  // The actor finishes when its last sender goes, and must see every tell
  // of the burst first.
  auto [tx, rx] = MakeOneshot<int>();
  auto report = std::make_shared<OneshotSender<int>>(std::move(tx));
  ActorRef<CountUntilStopped> counter =
      this->env_.system().template Spawn<CountUntilStopped>(report);
  report.reset();
  constexpr int kTells = 100;  // within one run's budget
  auto body = [](ActorRef<CountUntilStopped> to,
                 OneshotReceiver<int> done) -> Task<int> {
    co_await Spawn(BurstThenLetGo(std::move(to), kTells));
    absl::StatusOr<int> count = co_await std::move(done);
    co_return count.ok() ? *count : -1;
  };
  EXPECT_EQ(this->env_.Run(body(std::move(counter), std::move(rx))), kTells);
}

TEST(StagedSendCapacityTest, StagedTellsNeverOverfillTheMailbox) {
  // On the current-thread runtime the actor cannot run while the sender's
  // run lasts: the sender fills the mailbox (partly through its stage)
  // and then waits; the mailbox never holds more than its capacity.
  ActorTestEnv env({.flavor = Flavor::kCurrentThread});
  ActorRef<Recorder> recorder = env.system().SpawnNamed<Recorder>(
      SpawnOptions{.name = "recorder", .mailbox_capacity = 8});
  const std::vector<Numbered> seen =
      env.Run(BurstFromManyThenCollect(recorder, 1, 100));
  ExpectPerSenderOrder(seen, 1, 100);
  EXPECT_LE(recorder.cell()->Stats().mailbox_high_water, 8u);
  EXPECT_GE(recorder.cell()->Stats().mailbox_high_water, 2u);
}

struct Burst {
  int n;
};

// Tells itself a burst and stops, in one handler: what it told itself
// before stopping is still handled (a stop drains the mailbox), staged or
// not.
class SelfTeller : public Actor<SelfTeller> {
 public:
  explicit SelfTeller(std::shared_ptr<OneshotSender<int>> report)
      : report_(std::move(report)) {}
  Task<void> Handle(Burst b) {
    for (int i = 0; i < b.n; ++i) {
      absl::Status s = co_await Self().Send(Numbered{0, i});
      EXPECT_TRUE(s.ok()) << s;
    }
    Stop();
  }
  void Handle(Numbered /*unused*/) { ++count_; }
  void OnStop() { (void)report_->Send(count_); }

 private:
  std::shared_ptr<OneshotSender<int>> report_;
  int count_ = 0;
};

TYPED_TEST(StagedSendTest, TellsAnActorSentItselfBeforeStoppingAreAllHandled) {
  auto [tx, rx] = MakeOneshot<int>();
  auto report = std::make_shared<OneshotSender<int>>(std::move(tx));
  ActorRef<SelfTeller> actor =
      this->env_.system().template Spawn<SelfTeller>(report);
  report.reset();
  auto body = [](ActorRef<SelfTeller> to,
                 OneshotReceiver<int> done) -> Task<int> {
    absl::Status sent = co_await to.Send(Burst{20});
    EXPECT_TRUE(sent.ok()) << sent;
    absl::StatusOr<int> count = co_await std::move(done);
    co_return count.ok() ? *count : -1;
  };
  EXPECT_EQ(this->env_.Run(body(std::move(actor), std::move(rx))), 20);
}

// Tells `n` (the last ones wait for room), then ends.
Task<void> TellN(ActorRef<Recorder> to, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await to.Send(Numbered{0, i});
    EXPECT_TRUE(s.ok()) << s;
  }
}

// Fills the mailbox with TrySend in one run (the actor cannot run
// meanwhile on the current-thread runtime): how many fit.
Task<int> FillWithTrySend(ActorRef<Recorder> to, int capacity) {
  absl::StatusOr<std::vector<Numbered>> synced = co_await to.Ask(History{});
  EXPECT_TRUE(synced.ok());
  int fitted = 0;
  while (fitted <= capacity && to.TrySend(Numbered{1, fitted}).ok()) {
    ++fitted;
  }
  co_return fitted;
}

TEST(StagedSendCapacityTest, RoomGrantedToWaitingSendersThatStopIsGivenBack) {
  // A sender that waited on a full mailbox, with others waiting, is
  // admitted with room for more tells (its stage takes it over). Senders
  // that then stop must give the rest back: the mailbox takes its full
  // capacity again. (16: the mailbox fills within one run's budget.)
  constexpr int kCapacity = 16;
  ActorTestEnv env({.flavor = Flavor::kCurrentThread});
  ActorRef<Recorder> recorder = env.system().SpawnNamed<Recorder>(
      SpawnOptions{.name = "recorder", .mailbox_capacity = kCapacity});
  auto body = [](ActorRef<Recorder> to) -> Task<int> {
    // Two senders, so that one is admitted while the other still waits
    // (room is granted only then: a fan-in).
    JoinHandle<void> a = Spawn(TellN(to, 3 * kCapacity));
    JoinHandle<void> b = Spawn(TellN(to, 3 * kCapacity));
    co_await a;
    co_await b;
    co_return co_await FillWithTrySend(to, kCapacity);
  };
  EXPECT_EQ(env.Run(body(recorder)), kCapacity);
}

// A message that counts its live copies.
struct Tracked {
  explicit Tracked(std::shared_ptr<std::atomic<int>> live)
      : live_(std::move(live)) {
    live_->fetch_add(1);
  }
  // (Moves copy too: every copy counts until destroyed.)
  Tracked(const Tracked& other) noexcept : live_(other.live_) {
    live_->fetch_add(1);
  }
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { live_->fetch_sub(1); }
  std::shared_ptr<std::atomic<int>> live_;
};

// Stops itself at the first message.
class StopAtOnce : public Actor<StopAtOnce> {
 public:
  void Handle(const Tracked& /*unused*/) { Stop(); }
};

Task<void> BurstAtAStoppingActor(ActorRef<StopAtOnce> to,
                                 std::shared_ptr<std::atomic<int>> live) {
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      // Refused once the actor has stopped (the value is destroyed here).
      (void)co_await to.Send(Tracked(live));
    }
    co_await YieldNow();  // lets the actor run (and stop)
  }
}

TYPED_TEST(StagedSendTest, TellsStagedForAnActorThatStopsAreDestroyedOnce) {
  // Tells staged when the mailbox closes are dropped at publication, like
  // a permit's value; each is destroyed exactly once (ASAN, and the live
  // count back to zero once the actor is gone).
  auto live = std::make_shared<std::atomic<int>>(0);
  ActorRef<StopAtOnce> actor = this->env_.system().template Spawn<StopAtOnce>();
  this->env_.Run(BurstAtAStoppingActor(actor, live));
  actor = ActorRef<StopAtOnce>();
  (void)this->env_.system().BlockingShutdown(std::chrono::seconds(10));
  EXPECT_EQ(live->load(), 0);
}

}  // namespace
}  // namespace troupe::test
