// Tests of channels/mpsc.h: per-operation behaviour on both runtime
// flavours, back-pressure, close/drop interleavings, cancellation safety
// and multi-producer stress.

#include "channels/mpsc.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

using ::testing::ElementsAre;

using test::CurrentThread;
using test::MultiThread;

template <typename F>
class MpscTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = test::RuntimeFlavours;
TYPED_TEST_SUITE(MpscTest, Flavours);

// The channel aligns itself by hand (MpscChannel::operator new): every
// one sits on a cache-line boundary, whatever the allocator returned, and
// works after it is freed and the memory reused.
TEST(Mpsc, ChannelsAreCacheLineAlignedWhereverTheAllocatorPutsThem) {
  std::vector<std::pair<Sender<int>, Receiver<int>>> channels;
  std::vector<std::unique_ptr<char[]>> shims;  // shift the heap's top
  for (int i = 0; i < 64; ++i) {
    shims.push_back(std::make_unique<char[]>(1 + i * 8));
    channels.push_back(MakeMpsc<int>(4).value());
    internal::MpscChannel<int>* ch = channels.back().second.channel();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ch) %
                  alignof(internal::MpscChannel<int>),
              0u);
    ASSERT_TRUE(channels.back().first.TrySend(i).ok());
  }
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(channels[i].second.TryRecv().value_or(-1), i);
  }
  channels.clear();  // each frees through its own operator delete
  auto [tx, rx] = MakeMpsc<int>(1).value();
  ASSERT_TRUE(tx.TrySend(7).ok());
  EXPECT_EQ(rx.TryRecv().value_or(-1), 7);
}

TEST(Mpsc, ACapacityOfZeroIsRejectedWithAClearError) {
  auto ch = MakeMpsc<int>(0);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ch.status().message()),
              ::testing::HasSubstr("capacity"));
}

TEST(Mpsc, TrySendReportsFullAndHandsTheValueBack) {
  auto [tx, rx] = MakeMpsc<std::string>(2).value();
  EXPECT_TRUE(tx.TrySend("a").ok());
  EXPECT_TRUE(tx.TrySend("b").ok());
  SendResult<std::string> r = tx.TrySend("c");
  ASSERT_TRUE(r.IsFull());
  EXPECT_EQ(r.TakeValue(), "c");
  EXPECT_EQ(tx.Len(), 2u);
  EXPECT_EQ(tx.Capacity(), 2u);
}

TEST(Mpsc, TrySendToAClosedChannelHandsTheValueBack) {
  auto [tx, rx] = MakeMpsc<std::string>(2).value();
  rx.Close();
  SendResult<std::string> r = tx.TrySend("x");
  ASSERT_TRUE(r.IsClosed());
  EXPECT_EQ(r.TakeValue(), "x");
  EXPECT_TRUE(tx.IsClosed());
}

TEST(Mpsc, TrySendAfterTheReceiverIsDroppedFails) {
  auto [tx, rx] = MakeMpsc<int>(2).value();
  { Receiver<int> gone = std::move(rx); }
  EXPECT_TRUE(tx.TrySend(1).IsClosed());
}

TEST(Mpsc, TryRecvDistinguishesEmptyFromClosed) {
  auto [tx, rx] = MakeMpsc<int>(2).value();
  EXPECT_EQ(rx.TryRecv().status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(tx.TrySend(5).ok());
  { Sender<int> gone = std::move(tx); }
  absl::StatusOr<int> v = rx.TryRecv();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
  EXPECT_EQ(rx.TryRecv().status().code(), absl::StatusCode::kOutOfRange);
}

TEST(Mpsc, CloseLetsBufferedValuesDrain) {
  auto [tx, rx] = MakeMpsc<int>(4).value();
  ASSERT_TRUE(tx.TrySend(1).ok());
  ASSERT_TRUE(tx.TrySend(2).ok());
  rx.Close();
  EXPECT_TRUE(tx.TrySend(3).IsClosed());
  EXPECT_EQ(*rx.TryRecv(), 1);
  EXPECT_EQ(*rx.TryRecv(), 2);
  EXPECT_EQ(rx.TryRecv().status().code(), absl::StatusCode::kOutOfRange);
}

TEST(Mpsc, DestroyingTheChannelDestroysEachQueuedValueExactlyOnce) {
  auto counter = std::make_shared<int>(0);
  struct Counted {
    std::shared_ptr<int> c;
    explicit Counted(std::shared_ptr<int> p) : c(std::move(p)) {}
    Counted(Counted&&) = default;
    Counted& operator=(Counted&&) = default;
    ~Counted() {
      if (c) ++*c;
    }
  };
  {
    auto [tx, rx] = MakeMpsc<Counted>(100).value();
    for (int i = 0; i < 70; ++i) ASSERT_TRUE(tx.TrySend(Counted(counter)).ok());
    (void)rx.TryRecv();  // one out, into the receiver's batch path
    EXPECT_EQ(*counter, 1);
  }
  EXPECT_EQ(*counter, 70);
}

// The channel notes its depth whenever the receiver takes the queued
// values as a batch: a burst that piled up meanwhile is counted whole, and
// a smaller one later does not lower the mark.
TEST(Mpsc, TheHighWaterMarkCountsABurstThatPiledUpWhileTheReceiverWasAway) {
  auto [tx, rx] = MakeMpsc<int>(64).value();
  EXPECT_EQ(rx.channel()->HighWater(), 0u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.TrySend(i).ok());
  ASSERT_TRUE(rx.TryRecv().ok());
  EXPECT_EQ(rx.channel()->HighWater(), 5u);
  while (rx.TryRecv().ok()) {
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.TrySend(i).ok());
  while (rx.TryRecv().ok()) {
  }
  EXPECT_EQ(rx.channel()->HighWater(), 5u);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(tx.TrySend(i).ok());
  ASSERT_TRUE(rx.TryRecv().ok());
  EXPECT_EQ(rx.channel()->HighWater(), 9u);
}

TEST(Mpsc, AFreshChannelHoldsNoSlots) {
  // Indirectly: a big capacity costs nothing until used. The channel object
  // itself is small and allocates blocks lazily.
  auto [tx, rx] = MakeMpsc<std::array<char, 1024>>(1 << 20).value();
  EXPECT_EQ(tx.Len(), 0u);
  EXPECT_EQ(tx.Capacity(), std::size_t{1} << 20);
}

TYPED_TEST(MpscTest, ValuesArriveInOrderAndRecvEndsWhenSendersAreGone) {
  auto body = []() -> Task<std::vector<int>> {
    auto [tx, rx] = MakeMpsc<int>(3).value();
    JoinHandle<void> producer = Spawn([](Sender<int> tx) -> Task<void> {
      for (int i = 0; i < 10; ++i) {
        SendResult<int> r = co_await tx.Send(i);
        if (!r.ok()) co_return;
      }
    }(std::move(tx)));
    std::vector<int> got;
    while (std::optional<int> v = co_await rx.Recv()) got.push_back(*v);
    co_await producer;
    co_return got;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TYPED_TEST(MpscTest, AFastSenderNeverMakesTheBufferExceedItsCapacity) {
  auto body = []() -> Task<std::size_t> {
    auto [tx, rx] = MakeMpsc<int>(8).value();
    auto high_water = std::make_shared<std::size_t>(0);
    JoinHandle<void> producer = Spawn([](Sender<int> tx) -> Task<void> {
      for (int i = 0; i < 5000; ++i) (void)co_await tx.Send(i);
    }(std::move(tx)));
    int expected = 0;
    while (true) {
      *high_water = std::max(*high_water, rx.Len());
      std::optional<int> v = co_await rx.Recv();
      if (!v) break;
      if (*v != expected++) co_return 999;  // order broken
      if (expected % 7 == 0) co_await YieldNow();
    }
    co_await producer;
    co_return *high_water;
  };
  const std::size_t hw = this->runtime_.BlockOn(body());
  EXPECT_LE(hw, 8u);
  EXPECT_GE(hw, 1u);
}

TYPED_TEST(MpscTest, WaitingSendersAreAdmittedInFifoOrder) {
  auto body = []() -> Task<std::vector<int>> {
    auto [tx, rx] = MakeMpsc<int>(1).value();
    (void)co_await tx.Send(-1);  // full now
    std::vector<JoinHandle<void>> senders;
    for (int i = 0; i < 5; ++i) {
      senders.push_back(Spawn([](Sender<int> tx, int i) -> Task<void> {
        (void)co_await tx.Send(i);
      }(tx, i)));
      // Let sender i queue before sender i + 1 starts.
      for (int k = 0; k < 20; ++k) co_await YieldNow();
    }
    { Sender<int> drop = std::move(tx); }
    std::vector<int> got;
    while (std::optional<int> v = co_await rx.Recv()) got.push_back(*v);
    for (auto& s : senders) co_await s;
    co_return got;
  };
  const std::vector<int> got = this->runtime_.BlockOn(body());
  if (this->runtime_.flavor() == Flavor::kCurrentThread) {
    // Deterministic: sender i is queued before sender i + 1 starts.
    EXPECT_THAT(got, ElementsAre(-1, 0, 1, 2, 3, 4));
  } else {
    // Two workers may start the senders in any order; all must arrive.
    EXPECT_THAT(got, ::testing::UnorderedElementsAre(-1, 0, 1, 2, 3, 4));
  }
}

TYPED_TEST(MpscTest, SendFailsAndHandsBackTheValueWhenTheReceiverCloses) {
  auto body = []() -> Task<std::string> {
    auto [tx, rx] = MakeMpsc<std::string>(1).value();
    (void)co_await tx.Send("first");
    JoinHandle<std::string> blocked =
        Spawn([](Sender<std::string> tx) -> Task<std::string> {
          SendResult<std::string> r = co_await tx.Send("second");
          co_return r.IsClosed() ? r.TakeValue() : std::string("sent?");
        }(tx));
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    rx.Close();
    co_return co_await blocked;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "second");
}

TYPED_TEST(MpscTest, AnAbortedSendLosesNoValueAndLeaksNoSlot) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(1).value();
    (void)co_await tx.Send(1);
    JoinHandle<void> blocked = Spawn(
        [](Sender<int> tx) -> Task<void> { (void)co_await tx.Send(2); }(tx));
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    blocked.Abort();
    try {
      co_await blocked;
    } catch (const CancelledError&) {
    }
    // The aborted send never happened; its slot is free again after we
    // take the first value.
    std::optional<int> first = co_await rx.Recv();
    SendResult<int> again = tx.TrySend(3);
    std::optional<int> second = co_await rx.Recv();
    co_return first == 1 && again.ok() && second == 3 && rx.Len() == 0;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(MpscTest, AnAbandonedRecvLosesNothing) {
  auto body = []() -> Task<std::optional<int>> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    auto shared_rx = std::make_shared<Receiver<int>>(std::move(rx));
    absl::StatusOr<std::optional<int>> r = co_await Timeout(
        std::chrono::milliseconds(5),
        [](std::shared_ptr<Receiver<int>> rx) -> Task<std::optional<int>> {
          co_return co_await rx->Recv();
        }(shared_rx));
    if (r.ok()) co_return std::nullopt;  // it should have timed out
    (void)co_await tx.Send(42);
    co_return co_await shared_rx->Recv();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), std::optional<int>(42));
}

TYPED_TEST(MpscTest, SendTimeoutGivesUpAndHandsTheValueBack) {
  auto body = []() -> Task<std::string> {
    auto [tx, rx] = MakeMpsc<std::string>(1).value();
    (void)co_await tx.Send("fill");
    SendResult<std::string> r =
        co_await tx.SendTimeout("late", std::chrono::milliseconds(10));
    co_return r.IsTimedOut() ? r.TakeValue() : std::string("not timed out");
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "late");
}

TYPED_TEST(MpscTest, APermitHoldsASlotAndDroppingItReturnsTheSlot) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<int>(1).value();
    absl::StatusOr<Permit<int>> permit = co_await tx.Reserve();
    if (!permit.ok()) co_return false;
    const bool full_while_reserved = tx.TrySend(1).IsFull();
    { Permit<int> drop = std::move(*permit); }
    const bool free_after_drop = tx.TrySend(2).ok();
    std::optional<int> v = co_await rx.Recv();
    absl::StatusOr<Permit<int>> p2 = tx.TryReserve();
    if (!p2.ok()) co_return false;
    p2->Send(7);
    std::optional<int> w = co_await rx.Recv();
    co_return full_while_reserved&& free_after_drop&& v == 2 && w == 7;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(MpscTest, RecvManyDrainsABatch) {
  auto body = []() -> Task<std::vector<int>> {
    auto [tx, rx] = MakeMpsc<int>(16).value();
    for (int i = 0; i < 10; ++i) (void)tx.TrySend(i);
    std::vector<int> out;
    const std::size_t n = co_await rx.RecvMany(out, 4);
    if (n != 4) co_return {};
    co_return out;
  };
  EXPECT_THAT(this->runtime_.BlockOn(body()), ElementsAre(0, 1, 2, 3));
}

TEST(Mpsc, BlockingSendAndRecvWorkFromPlainThreads) {
  auto [tx, rx] = MakeMpsc<int>(2).value();
  std::thread producer([tx = std::move(tx)]() mutable {
    for (int i = 0; i < 1000; ++i) {
      if (!tx.BlockingSend(i).ok()) return;
    }
  });
  int64_t sum = 0;
  int count = 0;
  while (std::optional<int> v = rx.BlockingRecv()) {
    sum += *v;
    ++count;
  }
  producer.join();
  EXPECT_EQ(count, 1000);
  EXPECT_EQ(sum, 999 * 1000 / 2);
}

TEST(Mpsc, ManyProducersDeliverEveryValueOnceInPerProducerOrder) {
#ifdef TROUPE_TSAN
  constexpr int kPerProducer = 20'000;
#else
  constexpr int kPerProducer = 200'000;
#endif
  constexpr int kProducers = 4;
  Runtime runtime({.worker_threads = 2});
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeMpsc<std::pair<int, int>>(16).value();
    for (int p = 0; p < kProducers; ++p) {
      SpawnDetached([](Sender<std::pair<int, int>> tx, int p) -> Task<void> {
        for (int i = 0; i < kPerProducer; ++i) {
          if (!(co_await tx.Send({p, i})).ok()) co_return;
        }
      }(tx, p));
    }
    { auto drop = std::move(tx); }
    std::vector<int> next(kProducers, 0);
    int64_t total = 0;
    while (auto v = co_await rx.Recv()) {
      if (v->second != next[v->first]) co_return false;
      ++next[v->first];
      ++total;
    }
    co_return total == int64_t{kProducers} * kPerProducer;
  };
  EXPECT_TRUE(runtime.BlockOn(body()));
}

TEST(Mpsc, MixedThreadsAndTasksStressWithoutLoss) {
  Runtime runtime({.worker_threads = 2});
  auto channel = MakeMpsc<int>(4).value();
  Sender<int>& tx = channel.first;
  Receiver<int>& rx = channel.second;
  constexpr int kThreads = 2;
  constexpr int kPerThread = 5'000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([tx]() mutable {
      for (int i = 0; i < kPerThread; ++i) (void)tx.BlockingSend(1);
    });
  }
  runtime
      .Spawn([](Sender<int> tx) -> Task<void> {
        for (int i = 0; i < kPerThread; ++i) (void)co_await tx.Send(1);
      }(tx))
      .Detach();
  { auto drop = std::move(tx); }
  auto consume = [](Receiver<int>* rx) -> Task<int> {
    int sum = 0;
    while (auto v = co_await rx->Recv()) sum += *v;
    co_return sum;
  };
  const int sum = runtime.BlockOn(consume(&rx));
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum, (kThreads + 1) * kPerThread);
}

// The actor runner's idle step (internal API): RefillOrPark takes what
// is queued rather than parking, parks only on an empty channel, and a
// push then wakes the parked receiver.
TEST(Mpsc, RefillOrParkTakesQueuedValuesAndParksOnlyWhenEmpty) {
  auto [tx, rx] = MakeMpsc<int>(8).value();
  internal::MpscChannel<int>* ch = rx.channel();
  internal::RecvWaiter waiter;
  auto no_other_work = [] { return false; };
  ASSERT_TRUE(tx.TrySend(1).ok());
  EXPECT_EQ(ch->FrontInBatch(), nullptr);  // queued, not yet in the batch
  EXPECT_FALSE(ch->RefillOrPark(&waiter, no_other_work));
  ASSERT_NE(ch->FrontInBatch(), nullptr);
  EXPECT_EQ(*ch->FrontInBatch(), 1);
  ch->PopFront();
  EXPECT_FALSE(ch->RefillOrPark(&waiter, [] { return true; }));
  EXPECT_TRUE(ch->RefillOrPark(&waiter, no_other_work));
  EXPECT_FALSE(waiter.notified.load());
  ASSERT_TRUE(tx.TrySend(2).ok());  // the push takes the parked waiter
  EXPECT_TRUE(waiter.notified.load());
  EXPECT_EQ(waiter.target.word.load(), 1u);
  EXPECT_FALSE(ch->RefillOrPark(&waiter, no_other_work));
  EXPECT_EQ(*ch->FrontInBatch(), 2);
}

// An actor's mailbox (kEmbedded) does not report the room of the last
// value of a batch when the runner takes it: the runner's next step,
// RefillOrPark, reports it under the lock it takes anyway - and admits the
// sender that waited for that room (without that, the sender would wait
// for good on an idle actor).
TEST(Mpsc, AnActorMailboxReportsADryBatchInRefillOrParkAndAdmitsTheWaiter) {
  using Mailbox = internal::MpscChannel<int, internal::MpscLayout::kEmbedded>;
  using Waiter = internal::SendWaiter<int>;
  // Capacity 16: while senders wait, room is reported per 2 values taken.
  Mailbox ch(16);
  internal::RecvWaiter receiver;
  auto no_other_work = [] { return false; };
  for (int i = 0; i < 15; ++i) {
    ASSERT_EQ(ch.TryPushWith([i] { return i; }), Mailbox::PushResult::kPushed);
  }
  ASSERT_NE(ch.Front(), nullptr);  // the receiver's batch: values 0..14
  ASSERT_EQ(ch.TryPushWith([] { return 15; }), Mailbox::PushResult::kPushed);
  // Full: 15 senders queue.
  constexpr int kSenders = 15;
  std::array<std::optional<int>, kSenders> values;
  std::array<Waiter, kSenders> senders;
  for (int i = 0; i < kSenders; ++i) {
    values[i] = 100 + i;
    senders[i].value = &values[i];
    ASSERT_EQ(ch.PushOrQueue(&senders[i]), Mailbox::PushResult::kFull);
  }
  for (int i = 0; i < 15; ++i) {
    ASSERT_NE(ch.FrontInBatch(), nullptr);
    EXPECT_EQ(*ch.FrontInBatch(), i);
    ch.PopFront();
  }
  // Reported per 2: 14 senders admitted. The 15th value taken ran the
  // batch dry and is not reported yet, so the last sender still waits.
  for (int i = 0; i < 14; ++i) {
    EXPECT_EQ(senders[i].state.load(), Waiter::kDone) << i;
  }
  EXPECT_EQ(senders[14].state.load(), Waiter::kQueued);
  // Reported and admitted in one hold; the queued values are taken, so
  // the receiver does not park.
  EXPECT_FALSE(ch.RefillOrPark(&receiver, no_other_work));
  EXPECT_EQ(senders[14].state.load(), Waiter::kDone);
  EXPECT_EQ(senders[14].target.word.load(), 1u);  // woken
  EXPECT_FALSE(values[14].has_value());
  std::vector<int> rest;
  while (int* v = ch.FrontInBatch()) {
    rest.push_back(*v);
    ch.PopFront();
  }
  std::vector<int> expected = {15};
  for (int i = 0; i < kSenders; ++i) expected.push_back(100 + i);
  EXPECT_EQ(rest, expected);
  EXPECT_TRUE(ch.RefillOrPark(&receiver, no_other_work));
  EXPECT_EQ(ch.Len(), 0u);
}

}  // namespace
}  // namespace troupe
