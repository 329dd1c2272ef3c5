// Tests of channels/watch.h: per-operation behaviour, change tracking
// through clones and subscriptions, waking on both runtime flavours,
// cancellation safety, plain threads, and a never-miss-the-last-value
// stress.

#include "channels/watch.h"

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
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

template <typename F>
class WatchTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WatchTest, test::RuntimeFlavours);

TEST(Watch, AFreshReceiverHasSeenTheInitialValue) {
  auto [tx, rx] = MakeWatch<std::string>("initial");
  EXPECT_FALSE(rx.HasChanged());
  EXPECT_EQ(*rx.Borrow(), "initial");
  EXPECT_EQ(rx.Get(), "initial");
  EXPECT_EQ(tx.Borrow()->size(), 7u);
}

TEST(Watch, ASendIsAChangeThatBorrowAndUpdateMarksSeen) {
  auto [tx, rx] = MakeWatch<int>(0);
  EXPECT_EQ(tx.Send(1), 1u);
  EXPECT_TRUE(rx.HasChanged());
  EXPECT_EQ(*rx.Borrow(), 1);
  EXPECT_TRUE(rx.HasChanged());  // Borrow alone marks nothing
  EXPECT_EQ(*rx.BorrowAndUpdate(), 1);
  EXPECT_FALSE(rx.HasChanged());
}

TEST(Watch, SendModifyChangesTheValueInPlace) {
  auto [tx, rx] = MakeWatch<std::vector<int>>({1, 2});
  tx.SendModify([](std::vector<int>& v) { v.push_back(3); });
  EXPECT_TRUE(rx.HasChanged());
  EXPECT_EQ(rx.Get(), (std::vector<int>{1, 2, 3}));
}

TEST(Watch, SendIfModifiedCountsOnlyRealChanges) {
  auto [tx, rx] = MakeWatch<int>(5);
  EXPECT_FALSE(tx.SendIfModified([](int& v) { return v == 0; }));
  EXPECT_FALSE(rx.HasChanged());
  EXPECT_TRUE(tx.SendIfModified([](int& v) {
    v = 6;
    return true;
  }));
  EXPECT_TRUE(rx.HasChanged());
  EXPECT_EQ(rx.Get(), 6);
}

TEST(Watch, ASendWithNoReceiverStillStoresTheValue) {
  auto [tx, rx] = MakeWatch<int>(0);
  { WatchReceiver<int> gone = std::move(rx); }
  EXPECT_EQ(tx.ReceiverCount(), 0u);
  EXPECT_EQ(tx.Send(9), 0u);
  WatchReceiver<int> late = tx.Subscribe();
  EXPECT_FALSE(late.HasChanged());  // it has seen the current value
  EXPECT_EQ(late.Get(), 9);
}

TEST(Watch, AClonedReceiverStartsFromWhatItsOriginalHasSeen) {
  auto [tx, rx] = MakeWatch<int>(0);
  (void)tx.Send(1);
  WatchReceiver<int> clone = rx;  // both have not seen 1
  EXPECT_TRUE(clone.HasChanged());
  (void)rx.BorrowAndUpdate();
  EXPECT_FALSE(rx.HasChanged());
  EXPECT_TRUE(clone.HasChanged());  // independent from then on
  WatchReceiver<int> clone2 = rx;
  EXPECT_FALSE(clone2.HasChanged());
  EXPECT_EQ(tx.ReceiverCount(), 3u);
}

TEST(Watch, TheReceiverSeesTheSenderLeave) {
  auto [tx, rx] = MakeWatch<int>(0);
  EXPECT_FALSE(rx.IsClosed());
  { WatchSender<int> gone = std::move(tx); }
  EXPECT_TRUE(rx.IsClosed());
  EXPECT_EQ(rx.Get(), 0);  // the value stays readable
}

TEST(Watch, BlockingChangedWorksFromPlainThreads) {
  auto [tx, rx] = MakeWatch<int>(0);
  int last = -1;
  std::thread reader([&last, rx = std::move(rx)]() mutable {
    while (rx.BlockingChanged().ok()) last = *rx.BorrowAndUpdate();
  });
  for (int i = 1; i <= 1000; ++i) (void)tx.Send(i);
  { WatchSender<int> gone = std::move(tx); }
  reader.join();
  EXPECT_EQ(last, 1000);
}

TYPED_TEST(WatchTest, ChangedWaitsForASendAndMarksItSeen) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeWatch<int>(0);
    JoinHandle<void> sender = Spawn([](WatchSender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      (void)tx.Send(7);
      for (int k = 0; k < 10; ++k) co_await YieldNow();
    }(std::move(tx)));
    const absl::Status changed = co_await rx.Changed();
    const bool seen = !rx.HasChanged();
    const int value = rx.Get();
    co_await sender;
    co_return (changed.ok() && seen && value == 7);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(WatchTest, AnUnseenChangeIsReportedBeforeTheSenderIsGone) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeWatch<int>(0);
    (void)tx.Send(1);
    { WatchSender<int> gone = std::move(tx); }
    const absl::Status first = co_await rx.Changed();
    const int value = rx.Get();
    const absl::Status second = co_await rx.Changed();
    co_return (first.ok() && value == 1 &&
               second.code() == absl::StatusCode::kFailedPrecondition);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(WatchTest, AParkedChangedFailsWhenTheSenderLeaves) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeWatch<int>(0);
    JoinHandle<void> sender = Spawn([](WatchSender<int> tx) -> Task<void> {
      for (int k = 0; k < 10; ++k) co_await YieldNow();
      tx = WatchSender<int>();  // the sender goes
    }(std::move(tx)));
    const absl::Status s = co_await rx.Changed();
    co_await sender;
    co_return s.code() == absl::StatusCode::kFailedPrecondition;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TYPED_TEST(WatchTest, OneSendWakesEveryParkedReceiver) {
  constexpr int kReceivers = 40;  // more than one wake-up batch
  auto body = []() -> Task<int> {
    auto [tx, rx] = MakeWatch<int>(0);
    std::vector<JoinHandle<int>> receivers;
    receivers.reserve(kReceivers);
    for (int i = 0; i < kReceivers; ++i) {
      receivers.push_back(Spawn([](WatchReceiver<int> rx) -> Task<int> {
        const absl::Status s = co_await rx.Changed();
        co_return s.ok() ? rx.Get() : -1;
      }(rx)));
    }
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    (void)tx.Send(3);
    int total = 0;
    for (auto& r : receivers) total += co_await r;
    co_return total;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), 3 * kReceivers);
}

TYPED_TEST(WatchTest, AnAbortedChangedLeavesNoWaiterAndMarksNothingSeen) {
  auto body = []() -> Task<bool> {
    auto [tx, rx] = MakeWatch<int>(0);
    auto shared_rx = std::make_shared<WatchReceiver<int>>(std::move(rx));
    JoinHandle<void> blocked =
        Spawn([](std::shared_ptr<WatchReceiver<int>> rx) -> Task<void> {
          (void)co_await rx->Changed();
        }(shared_rx));
    for (int k = 0; k < 20; ++k) co_await YieldNow();
    blocked.Abort();
    try {
      co_await blocked;
    } catch (const CancelledError&) {
    }
    (void)tx.Send(1);  // would touch a dangling waiter if one were left
    const bool changed = shared_rx->HasChanged();
    const absl::Status s = co_await shared_rx->Changed();
    co_return (changed && s.ok());
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

struct ReaderLog {
  std::atomic<int64_t> last{0};
  std::atomic<bool> increasing{true};
};

// Waits for changes until the sender is gone; values must strictly grow.
Task<void> CheckedReader(WatchReceiver<int64_t> rx, ReaderLog* log) {
  int64_t last = 0;
  while ((co_await rx.Changed()).ok()) {
    const int64_t v = *rx.BorrowAndUpdate();
    if (v <= last) log->increasing.store(false);
    last = v;
  }
  log->last.store(last);
}

TEST(WatchStress, ReceiversNeverMissTheLastValue) {
#ifdef TROUPE_TSAN
  constexpr int64_t kSends = 20'000;
#else
  constexpr int64_t kSends = 200'000;
#endif
  constexpr int kReaders = 4;
  for (int round = 0; round < 3; ++round) {
    Runtime runtime({.worker_threads = 2});
    auto [tx, rx] = MakeWatch<int64_t>(0);
    std::vector<ReaderLog> logs(kReaders + 1);
    std::vector<JoinHandle<void>> readers;
    readers.reserve(kReaders);
    for (int r = 0; r < kReaders; ++r) {
      readers.push_back(runtime.Spawn(CheckedReader(rx, &logs[r])));
    }
    ReaderLog& thread_log = logs[kReaders];
    std::thread plain([&thread_log, rx = rx]() mutable {
      int64_t last = 0;
      while (rx.BlockingChanged().ok()) {
        const int64_t v = *rx.BorrowAndUpdate();
        if (v <= last) thread_log.increasing.store(false);
        last = v;
      }
      thread_log.last.store(last);
    });
    { WatchReceiver<int64_t> unused = std::move(rx); }
    runtime.BlockOn([](WatchSender<int64_t> tx) -> Task<void> {
      for (int64_t i = 1; i <= kSends; ++i) {
        (void)tx.Send(i);
        if (i % 100 == 0) co_await YieldNow();
      }
    }(std::move(tx)));
    for (auto& r : readers) {
      runtime.BlockOn(
          [](JoinHandle<void>* h) -> Task<void> { co_await *h; }(&r));
    }
    plain.join();
    for (const ReaderLog& log : logs) {
      EXPECT_TRUE(log.increasing.load());
      EXPECT_EQ(log.last.load(), kSends);
    }
  }
}

}  // namespace
}  // namespace troupe
