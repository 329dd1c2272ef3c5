// Tests of channels/broadcast.h: per-operation behaviour, lag (the exact
// count, bounded memory), waking on both runtime flavours, cancellation
// safety, plain threads, and multi-producer stress.

#include "channels/broadcast.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

template <typename F>
class BroadcastTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(BroadcastTest, test::RuntimeFlavours);

// Receives with TryRecv until Empty or Closed; lags are recorded as -n.
template <typename T>
std::vector<int64_t> Drain(BroadcastReceiver<T>& rx) {
  std::vector<int64_t> got;
  for (;;) {
    BroadcastResult<T> r = rx.TryRecv();
    if (r.ok()) {
      got.push_back(r.value());
    } else if (r.IsLagged()) {
      got.push_back(-static_cast<int64_t>(r.lagged()));
    } else {
      return got;
    }
  }
}

// Counts live instances, to check what the ring holds. Copies and moves
// are counted too; assignment changes only the value.
struct Tracked {
  explicit Tracked(std::atomic<int>* live, int v = 0) : live(live), v(v) {
    ++*live;
  }
  Tracked(const Tracked& o) : live(o.live), v(o.v) { ++*live; }
  Tracked(Tracked&& o) noexcept : live(o.live), v(o.v) { ++*live; }
  Tracked& operator=(const Tracked& o) = default;
  Tracked& operator=(Tracked&& o) noexcept = default;
  ~Tracked() { --*live; }
  std::atomic<int>* live;
  int v;
};

TEST(Broadcast, ACapacityOfZeroIsRejectedWithInvalidArgument) {
  auto ch = MakeBroadcast<int>(0);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Broadcast, EveryReceiverSeesEveryValueInOrder) {
  auto [tx, rx] = MakeBroadcast<int>(8).value();
  BroadcastReceiver<int> rx2 = tx.Subscribe();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_THAT(Drain(rx), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(Drain(rx2), ElementsAre(0, 1, 2, 3, 4));
}

TEST(Broadcast, ReceiversGetTheirOwnCopies) {
  auto [tx, rx] = MakeBroadcast<std::string>(2).value();
  BroadcastReceiver<std::string> rx2 = rx.Subscribe();
  ASSERT_TRUE(tx.Send("hello").ok());
  BroadcastResult<std::string> a = rx.TryRecv();
  ASSERT_TRUE(a.ok());
  a.value() += " world";
  BroadcastResult<std::string> b = rx2.TryRecv();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value(), "hello");
}

TEST(Broadcast, ASubscriberSeesOnlyValuesSentAfterItSubscribed) {
  auto [tx, rx] = MakeBroadcast<int>(8).value();
  ASSERT_TRUE(tx.Send(1).ok());
  BroadcastReceiver<int> late = tx.Subscribe();
  ASSERT_TRUE(tx.Send(2).ok());
  EXPECT_THAT(Drain(late), ElementsAre(2));
  EXPECT_THAT(Drain(rx), ElementsAre(1, 2));
}

TEST(Broadcast, SendReportsHowManyReceiversThereAre) {
  auto [tx, rx] = MakeBroadcast<int>(4).value();
  BroadcastSendResult<int> one = tx.Send(1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.receivers(), 1u);
  BroadcastReceiver<int> rx2 = tx.Subscribe();
  BroadcastReceiver<int> rx3 = rx2.Subscribe();
  EXPECT_EQ(tx.Send(2).receivers(), 3u);
  EXPECT_EQ(tx.ReceiverCount(), 3u);
}

TEST(Broadcast, ASendWithNoReceiverHandsTheValueBack) {
  auto [tx, rx] = MakeBroadcast<std::string>(4).value();
  { BroadcastReceiver<std::string> gone = std::move(rx); }
  BroadcastSendResult<std::string> r = tx.Send("lost?");
  ASSERT_TRUE(r.IsClosed());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.TakeValue(), "lost?");
  // A new subscriber revives the channel.
  BroadcastReceiver<std::string> fresh = tx.Subscribe();
  EXPECT_TRUE(tx.Send("found").ok());
  BroadcastResult<std::string> got = fresh.TryRecv();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), "found");
}

TEST(Broadcast, TryRecvReportsEmptyThenClosedOnlyAfterDraining) {
  auto [tx, rx] = MakeBroadcast<int>(4).value();
  EXPECT_TRUE(rx.TryRecv().IsEmpty());
  EXPECT_EQ(rx.TryRecv().status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(tx.Send(7).ok());
  BroadcastSender<int> copy = tx;
  { BroadcastSender<int> gone = std::move(tx); }
  ASSERT_TRUE(copy.Send(8).ok());
  { BroadcastSender<int> gone = std::move(copy); }
  EXPECT_THAT(Drain(rx), ElementsAre(7, 8));
  BroadcastResult<int> end = rx.TryRecv();
  EXPECT_TRUE(end.IsClosed());
  EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(Broadcast, AReceiverThatFallsBehindIsToldExactlyHowManyValuesItMissed) {
  auto [tx, rx] = MakeBroadcast<int>(4).value();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_EQ(rx.Len(), 10u);
  BroadcastResult<int> r = rx.TryRecv();
  ASSERT_TRUE(r.IsLagged());
  EXPECT_EQ(r.lagged(), 6u);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("6"));
  // It skipped ahead to the oldest value still held.
  EXPECT_THAT(Drain(rx), ElementsAre(6, 7, 8, 9));
}

TEST(Broadcast, LaggingAgainReportsOnlyTheNewGap) {
  auto [tx, rx] = MakeBroadcast<int>(3).value();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_THAT(Drain(rx), ElementsAre(-2, 2, 3, 4));
  for (int i = 5; i < 12; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_THAT(Drain(rx), ElementsAre(-4, 9, 10, 11));
}

TEST(Broadcast, AFullRingWithoutLagLosesNothing) {
  auto [tx, rx] = MakeBroadcast<int>(4).value();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_THAT(Drain(rx), ElementsAre(0, 1, 2, 3));
}

TEST(Broadcast, MemoryStaysBoundedWhateverASlowReceiverDoes) {
  std::atomic<int> live{0};
  {
    auto [tx, rx] = MakeBroadcast<Tracked>(8).value();
    for (int i = 0; i < 10'000; ++i) {
      ASSERT_TRUE(tx.Send(Tracked(&live, i)).ok());
      ASSERT_LE(live.load(), 8);  // the ring, and nothing else
    }
    BroadcastResult<Tracked> r = rx.TryRecv();
    ASSERT_TRUE(r.IsLagged());
    EXPECT_EQ(r.lagged(), 10'000u - 8);
    BroadcastResult<Tracked> oldest = rx.TryRecv();
    ASSERT_TRUE(oldest.ok());
    EXPECT_EQ(oldest.value().v, 10'000 - 8);
  }
  EXPECT_EQ(live.load(), 0);  // every value destroyed once
}

TEST(Broadcast, BlockingRecvWorksFromPlainThreads) {
  auto [tx, rx] = MakeBroadcast<int>(1024).value();
  BroadcastReceiver<int> rx2 = tx.Subscribe();
  auto consume = [](BroadcastReceiver<int> rx) {
    int64_t sum = 0;
    for (;;) {
      BroadcastResult<int> r = rx.BlockingRecv();
      if (r.IsClosed()) return sum;
      if (r.ok()) sum += r.value();
      if (r.IsLagged()) return int64_t{-1};
    }
  };
  int64_t sum1 = 0;
  int64_t sum2 = 0;
  std::thread t1([&sum1, consume, rx = std::move(rx)]() mutable {
    sum1 = consume(std::move(rx));
  });
  std::thread t2([&sum2, consume, rx = std::move(rx2)]() mutable {
    sum2 = consume(std::move(rx));
  });
  for (int i = 1; i <= 1000; ++i) ASSERT_TRUE(tx.Send(i).ok());
  { BroadcastSender<int> gone = std::move(tx); }
  t1.join();
  t2.join();
  EXPECT_EQ(sum1, 1000 * 1001 / 2);
  EXPECT_EQ(sum2, 1000 * 1001 / 2);
}

TYPED_TEST(BroadcastTest, RecvWaitsForAValueAndSeesTheEndWhenSendersLeave) {
  auto body = []() -> Task<std::vector<int64_t>> {
    auto [tx, rx] = MakeBroadcast<int>(4).value();
    JoinHandle<void> producer =
        Spawn([](BroadcastSender<int> tx) -> Task<void> {
          for (int i = 0; i < 3; ++i) {
            for (int k = 0; k < 5; ++k) co_await YieldNow();
            (void)tx.Send(i);
          }
        }(std::move(tx)));
    std::vector<int64_t> got;
    for (;;) {
      BroadcastResult<int> r = co_await rx.Recv();
      if (r.IsClosed()) break;
      got.push_back(r.ok() ? r.value() : -1);
    }
    co_await producer;
    co_return got;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()), ElementsAre(0, 1, 2));
}

TYPED_TEST(BroadcastTest, OneSendWakesEveryParkedReceiver) {
  // More receivers than one wake-up batch (WaiterList::kWakeBatch).
  constexpr int kReceivers = 40;
  auto body = []() -> Task<int64_t> {
    auto [tx, rx] = MakeBroadcast<int>(4).value();
    std::vector<JoinHandle<int64_t>> receivers;
    receivers.reserve(kReceivers);
    for (int i = 0; i < kReceivers; ++i) {
      receivers.push_back(Spawn([](BroadcastReceiver<int> rx) -> Task<int64_t> {
        int64_t sum = 0;
        for (;;) {
          BroadcastResult<int> r = co_await rx.Recv();
          if (!r.ok()) co_return r.IsClosed() ? sum : -1000;
          sum += r.value();
        }
      }(tx.Subscribe())));
    }
    { BroadcastReceiver<int> unused = std::move(rx); }
    for (int k = 0; k < 20; ++k) co_await YieldNow();  // let them park
    (void)tx.Send(5);
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    (void)tx.Send(6);
    { BroadcastSender<int> gone = std::move(tx); }
    int64_t total = 0;
    for (auto& r : receivers) total += co_await r;
    co_return total;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), int64_t{kReceivers} * 11);
}

TYPED_TEST(BroadcastTest, ARecvOnALaggedReceiverReportsTheLagFirst) {
  auto body = []() -> Task<std::vector<int64_t>> {
    auto [tx, rx] = MakeBroadcast<int>(4).value();
    for (int i = 0; i < 100; ++i) (void)tx.Send(i);
    { BroadcastSender<int> gone = std::move(tx); }
    std::vector<int64_t> got;
    for (;;) {
      BroadcastResult<int> r = co_await rx.Recv();
      if (r.IsClosed()) break;
      got.push_back(r.ok() ? r.value() : -static_cast<int64_t>(r.lagged()));
    }
    co_return got;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()), ElementsAre(-96, 96, 97, 98, 99));
}

TYPED_TEST(BroadcastTest, AnAbortedRecvLeavesNoWaiterAndLosesNothing) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeBroadcast<int>(4).value();
    auto shared_rx = std::make_shared<BroadcastReceiver<int>>(std::move(rx));
    JoinHandle<void> blocked =
        Spawn([](std::shared_ptr<BroadcastReceiver<int>> rx) -> Task<void> {
          (void)co_await rx->Recv();
        }(shared_rx));
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    blocked.Abort();
    bool cancelled = false;
    try {
      co_await blocked;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    // The aborted Recv took nothing: the value is there for the next one.
    (void)tx.Send(42);
    BroadcastResult<int> r = co_await shared_rx->Recv();
    co_return cancelled&& r.ok() && r.value() == 42;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

// Multi-producer stress: kStressProducers tasks send Stamps; task
// receivers and one plain thread check every stream they read.
#ifdef TROUPE_TSAN
constexpr int kStressPerProducer = 5'000;
#else
constexpr int kStressPerProducer = 20'000;
#endif
constexpr int kStressProducers = 3;
constexpr int kStressTaskReceivers = 3;
constexpr int64_t kStressTotal = int64_t{kStressProducers} * kStressPerProducer;

// A value sent by producer `p` as its `i`-th.
struct Stamp {
  int p = 0;
  int i = 0;
};

// What one receiver saw. The counters are read by the pacing producers.
class ReceiverLog {
 public:
  // Records one receive; false once the channel is closed.
  bool Record(BroadcastResult<Stamp>& r) {
    if (r.IsClosed()) return false;
    if (r.IsLagged()) {
      lagged_ += static_cast<int64_t>(r.lagged());
      return true;
    }
    const Stamp s = r.value();
    int& expected = next_[static_cast<std::size_t>(s.p)];
    // Exactly the next one; after a lag, any later one.
    if (s.i < expected || (lagged_ == 0 && s.i != expected)) in_order_ = false;
    expected = s.i + 1;
    // Release: the producers' pacing loads (acquire) see our progress.
    received_.fetch_add(1, std::memory_order_release);
    return true;
  }
  int64_t received() const { return received_.load(std::memory_order_acquire); }
  // Read after the receiver finished.
  int64_t lagged() const { return lagged_; }
  bool in_order() const { return in_order_; }

 private:
  std::atomic<int64_t> received_{0};
  int64_t lagged_ = 0;
  bool in_order_ = true;
  std::vector<int> next_ = std::vector<int>(kStressProducers, 0);
};
using Logs = std::vector<std::unique_ptr<ReceiverLog>>;

Task<void> TaskReceiver(BroadcastReceiver<Stamp> rx, ReceiverLog* log) {
  for (;;) {
    BroadcastResult<Stamp> r = co_await rx.Recv();
    if (!log->Record(r)) co_return;
  }
}

void ThreadReceiver(BroadcastReceiver<Stamp> rx, ReceiverLog* log) {
  for (;;) {
    BroadcastResult<Stamp> r = rx.BlockingRecv();
    if (!log->Record(r)) return;
  }
}

// Sends kStressPerProducer stamps. With `pace` (the receivers' logs), it
// waits before each send until the slowest receiver is less than
// capacity - kStressProducers behind `sent` (the sends of all producers):
// each producer sends at most once between checks, so no receiver lags.
Task<void> StressProducer(BroadcastSender<Stamp> tx, int p, const Logs* pace,
                          std::atomic<int64_t>* sent) {
  const auto slack =
      static_cast<int64_t>(tx.Capacity()) - int64_t{kStressProducers};
  for (int i = 0; i < kStressPerProducer; ++i) {
    while (pace != nullptr) {
      int64_t slowest = INT64_MAX;
      for (const auto& log : *pace)
        slowest = std::min(slowest, log->received());
      if (sent->load() - slowest < slack) break;
      co_await YieldNow();
    }
    sent->fetch_add(1);
    (void)tx.Send(Stamp{p, i});
    if (pace == nullptr && i % 64 == 0) co_await YieldNow();
  }
}

Task<void> JoinAll(std::vector<JoinHandle<void>> handles) {
  for (auto& h : handles) co_await h;
}

// Runs the stress on a two-worker runtime; returns what each receiver saw.
Logs RunStress(std::size_t capacity, bool paced) {
  Runtime runtime({.worker_threads = 2});
  auto [tx, rx] = MakeBroadcast<Stamp>(capacity).value();
  Logs logs;
  for (int r = 0; r <= kStressTaskReceivers; ++r) {
    logs.push_back(std::make_unique<ReceiverLog>());
  }
  std::thread plain(ThreadReceiver, rx.Subscribe(), logs.back().get());
  std::vector<JoinHandle<void>> tasks;
  tasks.reserve(kStressTaskReceivers + kStressProducers);
  for (int r = 0; r < kStressTaskReceivers; ++r) {
    tasks.push_back(runtime.Spawn(TaskReceiver(rx.Subscribe(), logs[r].get())));
  }
  { BroadcastReceiver<Stamp> unused = std::move(rx); }
  std::atomic<int64_t> sent{0};
  for (int p = 0; p < kStressProducers; ++p) {
    tasks.push_back(
        runtime.Spawn(StressProducer(tx, p, paced ? &logs : nullptr, &sent)));
  }
  { BroadcastSender<Stamp> gone = std::move(tx); }
  runtime.BlockOn(JoinAll(std::move(tasks)));
  plain.join();
  return logs;
}

TEST(BroadcastStress, ManyProducersPacedSoNoReceiverLagsDeliverEveryValueOnce) {
  for (const auto& log : RunStress(/*capacity=*/64, /*paced=*/true)) {
    EXPECT_TRUE(log->in_order());
    EXPECT_EQ(log->lagged(), 0);
    EXPECT_EQ(log->received(), kStressTotal);
  }
}

TEST(BroadcastStress, UnpacedProducersLetReceiversLagButEveryValueIsAccounted) {
  for (const auto& log : RunStress(/*capacity=*/8, /*paced=*/false)) {
    EXPECT_TRUE(log->in_order());
    // Every value was either received or reported as skipped.
    EXPECT_EQ(log->received() + log->lagged(), kStressTotal);
  }
}

}  // namespace
}  // namespace troupe
