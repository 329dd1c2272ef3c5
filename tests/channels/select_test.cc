// Tests of channels/select.h: each kind of branch, fairness, cancellation
// safety (losing branches lose nothing; an abandoned select leaves no
// waiter), the actor-loop use, and a loss-free stress on both flavours.

#include "channels/select.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "channels/broadcast.h"
#include "channels/mpsc.h"
#include "channels/oneshot.h"
#include "channels/watch.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

template <typename F>
class SelectTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(SelectTest, test::RuntimeFlavours);

// Far enough never to fire during a test.
constexpr auto kNever = std::chrono::hours(1);

TYPED_TEST(SelectTest, AReadyBranchWinsWithoutWaiting) {
  auto body = []() -> Task<std::string> {
    auto [tx_a, rx_a] = MakeMpsc<std::string>(4).value();
    auto [tx_b, rx_b] = MakeMpsc<std::string>(4).value();
    (void)tx_b.TrySend("b");
    auto r = co_await Select(OnRecv(rx_a), OnRecv(rx_b), OnSleep(kNever));
    if (r.index() != 1) co_return "wrong branch";
    co_return std::get<1>(r).value_or("empty");
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "b");
}

TYPED_TEST(SelectTest, SelectWaitsForTheFirstBranchThatBecomesReady) {
  auto body = []() -> Task<int> {
    auto [tx_a, rx_a] = MakeMpsc<int>(4).value();
    auto [tx_b, rx_b] = MakeMpsc<int>(4).value();
    JoinHandle<void> producer = Spawn([](Sender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      (void)co_await tx.Send(7);
    }(tx_b));
    auto r = co_await Select(OnRecv(rx_a), OnRecv(rx_b));
    co_await producer;
    co_return r.index() == 1 ? std::get<1>(r).value_or(-1) : -2;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), 7);
}

TYPED_TEST(SelectTest,
           ATimerWinsWhenNothingElseHappensAndTheMailboxLosesNothing) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    auto r = co_await Select(OnRecv(rx), OnSleep(milliseconds(2)));
    const bool timer_won = r.index() == 1;
    (void)tx.TrySend(5);
    std::optional<int> v = co_await rx.Recv();
    co_return (timer_won && v == 5);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, ADeadlineInThePastWinsAtOnce) {
  auto body = []() -> Task<std::size_t> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    auto r = co_await Select(OnRecv(rx), OnDeadline(CurrentClock().Now()));
    co_return r.index();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), 1u);
}

TYPED_TEST(SelectTest, AZeroOrTinySleepWinsWithoutWaitingForAnything) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    auto zero = co_await Select(OnRecv(rx), OnSleep(Duration::zero()));
    auto tiny = co_await Select(OnRecv(rx), OnSleep(Duration(1)));
    co_return (zero.index() == 1 && tiny.index() == 1);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, CancellingTheTokenWakesASelectBlockedOnIt) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    CancellationToken stop;
    JoinHandle<std::size_t> waiter = Spawn(
        [](Receiver<int> rx, CancellationToken stop) -> Task<std::size_t> {
          auto r = co_await Select(OnRecv(rx), OnCancelled(stop));
          co_return r.index();
        }(std::move(rx), stop));
    for (int k = 0; k < 10; ++k) co_await YieldNow();
    stop.Cancel();
    co_return co_await waiter == 1;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, AnAlreadyCancelledTokenWinsAtOnce) {
  auto body = []() -> Task<std::size_t> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    CancellationToken stop;
    stop.Cancel();
    auto r = co_await Select(OnRecv(rx), OnCancelled(stop));
    co_return r.index();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), 1u);
}

TYPED_TEST(SelectTest, AOneshotBranchYieldsItsValueOrTheSendersDeparture) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeOneshot<std::string>();
    JoinHandle<void> sender =
        Spawn([](OneshotSender<std::string> tx) -> Task<void> {
          for (int k = 0; k < 10; ++k) co_await YieldNow();
          (void)tx.Send("reply");
        }(std::move(tx)));
    auto r = co_await Select(OnRecv(rx), OnSleep(kNever));
    co_await sender;
    const bool got =
        r.index() == 0 && std::get<0>(r).ok() && *std::get<0>(r) == "reply";
    auto [tx2, rx2] = MakeOneshot<int>();
    { OneshotSender<int> gone = std::move(tx2); }
    auto r2 = co_await Select(OnRecv(rx2), OnSleep(kNever));
    co_return (got && r2.index() == 0 &&
               std::get<0>(r2).status().code() ==
                   absl::StatusCode::kFailedPrecondition);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, ABroadcastBranchYieldsValuesAndLags) {
  auto body = []() -> Task<std::vector<int64_t>> {
    auto [tx, rx] = MakeBroadcast<int>(2).value();
    for (int i = 0; i < 5; ++i) (void)tx.Send(i);
    std::vector<int64_t> got;
    for (int n = 0; n < 3; ++n) {
      auto r = co_await Select(OnRecv(rx), OnSleep(kNever));
      BroadcastResult<int>& b = std::get<0>(r);
      got.push_back(b.ok() ? b.value() : -static_cast<int64_t>(b.lagged()));
    }
    JoinHandle<void> sender = Spawn([](BroadcastSender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      (void)tx.Send(9);
    }(std::move(tx)));
    auto r = co_await Select(OnRecv(rx), OnSleep(kNever));
    co_await sender;
    got.push_back(std::get<0>(r).ok() ? std::get<0>(r).value() : -1);
    auto end = co_await Select(OnRecv(rx), OnSleep(kNever));
    got.push_back(std::get<0>(end).IsClosed() ? 100 : -1);
    co_return got;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()), ElementsAre(-3, 3, 4, 9, 100));
}

TYPED_TEST(SelectTest, AWatchBranchYieldsChangesThenTheSendersDeparture) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeWatch<int>(0);
    JoinHandle<void> sender = Spawn([](WatchSender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      (void)tx.Send(4);
    }(std::move(tx)));
    auto r = co_await Select(OnChanged(rx), OnSleep(kNever));
    const bool changed = r.index() == 0 && std::get<0>(r).ok() &&
                         rx.Get() == 4 && !rx.HasChanged();
    co_await sender;  // the sender is gone now
    auto r2 = co_await Select(OnChanged(rx), OnSleep(kNever));
    co_return (changed && r2.index() == 0 &&
               std::get<0>(r2).code() == absl::StatusCode::kFailedPrecondition);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, AnMpscBranchReportsTheEndOfTheStream) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    JoinHandle<void> sender = Spawn([](Sender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      tx = Sender<int>();  // the last sender goes
    }(std::move(tx)));
    auto r = co_await Select(OnRecv(rx), OnSleep(kNever));
    co_await sender;
    co_return (r.index() == 0 && !std::get<0>(r).has_value());
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, ASendBranchSendsWhenThereIsRoom) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<std::string>(1).value();
    std::optional<std::string> value("hello");
    auto r = co_await Select(OnSend(tx, value), OnSleep(kNever));
    std::optional<std::string> got = co_await rx.Recv();
    co_return (r.index() == 0 && std::get<0>(r) == SendError::kNone &&
               !value.has_value() && got == "hello");
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, ASendBranchWaitsForRoomAndSendsOnceItWins) {
  auto body = []() -> Task<std::vector<int>> {
    auto [tx, rx] = MakeMpsc<int>(1).value();
    (void)tx.TrySend(1);  // full
    JoinHandle<std::vector<int>> consumer =
        Spawn([](Receiver<int> rx) -> Task<std::vector<int>> {
          std::vector<int> got;
          for (int k = 0; k < 10; ++k) co_await YieldNow();
          while (std::optional<int> v = co_await rx.Recv()) got.push_back(*v);
          co_return got;
        }(std::move(rx)));
    std::optional<int> value(2);
    auto r = co_await Select(OnSend(tx, value), OnSleep(kNever));
    const bool sent = r.index() == 0 && std::get<0>(r) == SendError::kNone;
    { Sender<int> gone = std::move(tx); }
    std::vector<int> got = co_await consumer;
    if (!sent || value.has_value()) got.push_back(-1);
    co_return got;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()), ElementsAre(1, 2));
}

TYPED_TEST(SelectTest, ALosingSendKeepsItsValueAndItsChannelStaysConsistent) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(1).value();
    auto [tx_other, rx_other] = MakeMpsc<int>(1).value();
    (void)tx.TrySend(1);  // full: the send branch must wait
    JoinHandle<void> producer = Spawn([](Sender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      (void)co_await tx.Send(5);
    }(tx_other));
    std::optional<int> value(2);
    auto r = co_await Select(OnSend(tx, value), OnRecv(rx_other));
    co_await producer;
    const bool recv_won = r.index() == 1 && std::get<1>(r) == 5;
    // The send did not happen: the value is still ours, the channel holds
    // only the first value, and no slot or waiter was left behind.
    const bool kept = value == 2;
    std::optional<int> first = co_await rx.Recv();
    const bool room_again = tx.TrySend(3).ok();
    std::optional<int> second = co_await rx.Recv();
    co_return (recv_won && kept && first == 1 && room_again && second == 3 &&
               rx.Len() == 0);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest, ASendToAClosedChannelFailsAndKeepsTheValue) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<std::string>(1).value();
    rx.Close();
    std::optional<std::string> value("kept");
    auto r = co_await Select(OnSend(tx, value), OnSleep(kNever));
    co_return (r.index() == 0 && std::get<0>(r) == SendError::kClosed &&
               value == "kept");
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(SelectTest,
           AnActorLoopWaitsOnItsMailboxATimerAndACancellationToken) {
  struct Tally {
    int handled = 0;
    int ticks = 0;
    bool stopped = false;
  };
  auto actor = [](Receiver<int> mailbox, CancellationToken stop,
                  Tally* tally) -> Task<void> {
    for (;;) {
      auto r = co_await Select(OnRecv(mailbox), OnSleep(milliseconds(1)),
                               OnCancelled(stop));
      switch (r.index()) {
        case 0:
          if (!std::get<0>(r).has_value()) co_return;
          tally->handled += *std::get<0>(r);
          break;
        case 1:
          ++tally->ticks;
          break;
        default:
          tally->stopped = true;
          co_return;
      }
    }
  };
  auto body = [](decltype(actor) actor) -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(8).value();
    CancellationToken stop;
    Tally tally;
    JoinHandle<void> running = Spawn(actor(std::move(rx), stop, &tally));
    for (int i = 1; i <= 10; ++i) (void)co_await tx.Send(i);
    co_await SleepFor(milliseconds(5));  // idle: the timer ticks
    stop.Cancel();
    co_await running;
    co_return (tally.handled == 55 && tally.ticks >= 1 && tally.stopped);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body(actor)));
}

// Two channels always ready: each select must be able to pick either.
Task<std::vector<int>> CountWins(int selects, SelectOrder order) {
  auto [tx_a, rx_a] = MakeMpsc<int>(static_cast<std::size_t>(selects)).value();
  auto [tx_b, rx_b] = MakeMpsc<int>(static_cast<std::size_t>(selects)).value();
  for (int i = 0; i < selects; ++i) {
    (void)tx_a.TrySend(i);
    (void)tx_b.TrySend(i);
  }
  std::vector<int> wins(2, 0);
  for (int i = 0; i < selects; ++i) {
    if (order == SelectOrder::kRandom) {
      auto r = co_await Select(OnRecv(rx_a), OnRecv(rx_b));
      ++wins[r.index()];
    } else {
      auto r = co_await SelectBiased(OnRecv(rx_a), OnRecv(rx_b));
      ++wins[r.index()];
    }
  }
  co_return wins;
}

TYPED_TEST(SelectTest, NeitherOfTwoAlwaysReadyBranchesStarves) {
  constexpr int kSelects = 10'000;
  const std::vector<int> wins =
      this->runtime_.BlockOn(CountWins(kSelects, SelectOrder::kRandom));
  // A fair coin: each side wins about half; 40% is 20 standard deviations
  // away, so this never fails by chance.
  EXPECT_GE(wins[0], kSelects * 4 / 10);
  EXPECT_GE(wins[1], kSelects * 4 / 10);
}

TYPED_TEST(SelectTest, SelectBiasedAlwaysPrefersTheFirstReadyBranch) {
  const std::vector<int> wins =
      this->runtime_.BlockOn(CountWins(1000, SelectOrder::kBiased));
  EXPECT_EQ(wins[0], 1000);
  EXPECT_EQ(wins[1], 0);
}

TYPED_TEST(SelectTest, EveryLosingBranchsValueIsReceivedLaterInOrder) {
  auto body = []() -> Task<bool> {
    constexpr int kEach = 500;
    auto [tx_a, rx_a] = MakeMpsc<int>(kEach).value();
    auto [tx_b, rx_b] = MakeMpsc<int>(kEach).value();
    for (int i = 0; i < kEach; ++i) {
      (void)tx_a.TrySend(i);
      (void)tx_b.TrySend(i);
    }
    { Sender<int> gone = std::move(tx_a); }
    { Sender<int> gone = std::move(tx_b); }
    std::vector<int> next(2, 0);
    bool open_a = true;
    bool open_b = true;
    while (open_a && open_b) {
      auto r = co_await Select(OnRecv(rx_a), OnRecv(rx_b));
      const std::optional<int>& v =
          r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
      if (!v.has_value()) {
        (r.index() == 0 ? open_a : open_b) = false;
        continue;
      }
      if (*v != next[r.index()]++) co_return false;
    }
    // Whatever the selects left is still there, in order.
    while (std::optional<int> v = co_await rx_a.Recv()) {
      if (*v != next[0]++) co_return false;
    }
    while (std::optional<int> v = co_await rx_b.Recv()) {
      if (*v != next[1]++) co_return false;
    }
    co_return (next[0] == kEach && next[1] == kEach);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

// Every kind of branch, all blocked; the task is then aborted.
struct Sources {
  Sources()
      : mpsc(MakeMpsc<std::string>(1).value()),
        full(MakeMpsc<std::string>(1).value()),
        oneshot(MakeOneshot<std::string>()),
        broadcast(MakeBroadcast<std::string>(4).value()),
        watch(MakeWatch<std::string>("w")) {
    (void)full.first.TrySend("full");
  }
  std::pair<Sender<std::string>, Receiver<std::string>> mpsc;
  std::pair<Sender<std::string>, Receiver<std::string>> full;
  std::pair<OneshotSender<std::string>, OneshotReceiver<std::string>> oneshot;
  std::pair<BroadcastSender<std::string>, BroadcastReceiver<std::string>>
      broadcast;
  std::pair<WatchSender<std::string>, WatchReceiver<std::string>> watch;
  CancellationToken token;
};

Task<void> SelectOnEverything(Sources* s, std::optional<std::string>* value) {
  auto r = co_await Select(
      OnRecv(s->mpsc.second), OnSend(s->full.first, *value),
      OnRecv(s->oneshot.second), OnRecv(s->broadcast.second),
      OnChanged(s->watch.second), OnCancelled(s->token), OnSleep(kNever));
  (void)r;
}

TYPED_TEST(SelectTest, AbortingATaskBlockedInSelectLeavesNoWaiterAnywhere) {
  auto body = [](Runtime* runtime) -> Task<bool> {
    auto sources = std::make_unique<Sources>();
    auto value = std::make_unique<std::optional<std::string>>("v");
    const int64_t timers_before =
        runtime->scheduler().time_driver().PendingTimers();
    JoinHandle<void> blocked =
        Spawn(SelectOnEverything(sources.get(), value.get()));
    // Wait until it is blocked: its timer is the last branch registered.
    bool timer_registered = false;
    for (int k = 0; k < 10'000 && !timer_registered; ++k) {
      co_await SleepFor(milliseconds(1));
      timer_registered =
          runtime->scheduler().time_driver().PendingTimers() > timers_before;
    }
    blocked.Abort();
    try {
      co_await blocked;
    } catch (const CancelledError&) {
    }
    const bool timer_gone =
        runtime->scheduler().time_driver().PendingTimers() == timers_before;
    // Every source fires now; a waiter left behind would be a use after
    // free of the aborted frame (AddressSanitizer reports it).
    (void)sources->mpsc.first.TrySend("m");
    (void)sources->full.second.TryRecv();
    (void)sources->oneshot.first.Send("o");
    (void)sources->broadcast.first.Send("b");
    (void)sources->watch.first.Send("w2");
    sources->token.Cancel();
    // Nothing was consumed and the aborted send never happened.
    std::optional<std::string> m = co_await sources->mpsc.second.Recv();
    absl::StatusOr<std::string> o = co_await sources->oneshot.second;
    BroadcastResult<std::string> b = co_await sources->broadcast.second.Recv();
    const bool nothing_sent = sources->full.second.TryRecv().status().code() ==
                              absl::StatusCode::kUnavailable;
    sources.reset();  // destroy every channel
    co_return (timer_registered && timer_gone && m == "m" && o.ok() &&
               *o == "o" && b.ok() && b.value() == "b" && nothing_sent &&
               **value == "v");
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body(&this->runtime_)));
}

TYPED_TEST(SelectTest, ATimeoutAroundASelectAbandonsItCleanly) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    auto shared_rx = std::make_shared<Receiver<int>>(std::move(rx));
    absl::StatusOr<std::size_t> r = co_await Timeout(
        milliseconds(3),
        [](std::shared_ptr<Receiver<int>> rx) -> Task<std::size_t> {
          auto s = co_await Select(OnRecv(*rx), OnSleep(kNever));
          co_return s.index();
        }(shared_rx));
    (void)tx.TrySend(8);
    std::optional<int> v = co_await shared_rx->Recv();
    co_return (r.status().code() == absl::StatusCode::kDeadlineExceeded &&
               v == 8);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

// Producers feed two channels while the consumer selects over both and a
// short timer; every value must arrive exactly once, in order per channel.
TYPED_TEST(SelectTest, ConcurrentProducersLoseNothingThroughSelect) {
#ifdef TROUPE_TSAN
  constexpr int kPerChannel = 5'000;
#else
  constexpr int kPerChannel = 50'000;
#endif
  auto body = []() -> Task<bool> {
    auto [tx_a, rx_a] = MakeMpsc<int>(16).value();
    auto [tx_b, rx_b] = MakeMpsc<int>(16).value();
    auto produce = [](Sender<int> tx) -> Task<void> {
      for (int i = 0; i < kPerChannel; ++i) {
        SendResult<int> r = co_await tx.Send(i);
        if (!r.ok()) co_return;
      }
    };
    JoinHandle<void> pa = Spawn(produce(std::move(tx_a)));
    JoinHandle<void> pb = Spawn(produce(std::move(tx_b)));
    std::vector<int> next(2, 0);
    int open = 2;
    while (open > 0) {
      auto r =
          co_await Select(OnRecv(rx_a), OnRecv(rx_b), OnSleep(milliseconds(1)));
      if (r.index() == 2) continue;
      const std::optional<int>& v =
          r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
      if (!v.has_value()) {
        // Closed and drained: stop selecting on it.
        --open;
        Receiver<int>& other = r.index() == 0 ? rx_b : rx_a;
        const std::size_t o = 1 - r.index();
        while (std::optional<int> w = co_await other.Recv()) {
          if (*w != next[o]++) co_return false;
        }
        --open;
        break;
      }
      if (*v != next[r.index()]++) co_return false;
    }
    co_await pa;
    co_await pb;
    co_return (next[0] == kPerChannel && next[1] == kPerChannel);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

// Two tasks exchange values through selects that both send and receive:
// reservations granted to losing send branches must all be given back.
TYPED_TEST(SelectTest, SendAndReceiveBranchesTogetherLeakNoSlot) {
#ifdef TROUPE_TSAN
  constexpr int kValues = 2'000;
#else
  constexpr int kValues = 20'000;
#endif
  auto peer = [](Sender<int> out, Receiver<int>* in) -> Task<bool> {
    int received = 0;
    int sent = 0;
    std::optional<int> pending;
    while (sent < kValues || received < kValues) {
      if (sent == kValues) {
        std::optional<int> v = co_await in->Recv();
        if (v != received++) co_return false;
        continue;
      }
      if (!pending.has_value()) pending = sent;
      auto r = co_await Select(OnSend(out, pending), OnRecv(*in));
      if (r.index() == 0) {
        if (std::get<0>(r) != SendError::kNone || pending.has_value()) {
          co_return false;
        }
        ++sent;
      } else if (std::get<1>(r) != received++) {
        co_return false;  // lost, duplicated or reordered
      }
    }
    co_return true;
  };
  auto body = [](decltype(peer) peer) -> Task<bool> {
    auto [tx_ab, rx_ab] = MakeMpsc<int>(2).value();
    auto [tx_ba, rx_ba] = MakeMpsc<int>(2).value();
    // The receivers stay here: a channel whose receiver is gone is closed.
    JoinHandle<bool> a = Spawn(peer(tx_ab, &rx_ba));
    JoinHandle<bool> b = Spawn(peer(tx_ba, &rx_ab));
    const bool ok = (co_await a) && (co_await b);
    // Both channels are empty with every slot free: no reservation leaked.
    bool all_free = tx_ab.Len() == 0 && tx_ba.Len() == 0;
    for (Sender<int>* tx : {&tx_ab, &tx_ba}) {
      absl::StatusOr<Permit<int>> p1 = tx->TryReserve();
      absl::StatusOr<Permit<int>> p2 = tx->TryReserve();
      all_free = all_free && p1.ok() && p2.ok();
    }
    co_return (ok && all_free);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body(peer)));
}

}  // namespace
}  // namespace troupe
