// Steady-state channel traffic allocates nothing: this binary counts
// allocations (tests/counting_allocator.h), warms each channel up,
// and then requires zero allocations (on any thread) across
//   - 1,000,000 mpsc Send/Recv between a producer and a consumer task,
//   - 1,000,000 broadcast sends read by two receiver tasks,
//   - 100,000 watch changes awaited by a receiver task,
//   - 100,000 selects over a mailbox and a timer.
// Every scenario runs on both runtime flavours: the current-thread runtime
// and a multi-thread runtime with one worker. With two workers a task may
// run on either thread, and the mpsc channel's spare blocks - recycled
// through the per-thread frame caches, which even out between threads only
// in batches - can still miss a thread's cache a few times: a separate test
// bounds that to a few batch refills per million messages.
//
// Not run under the sanitizers (see BUILD.bazel): they replace operator
// new and delete themselves.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>

#include "channels/broadcast.h"
#include "channels/mpsc.h"
#include "channels/select.h"
#include "channels/watch.h"
#include "executor/frame_allocator.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/counting_allocator.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using test::Allocations;

struct OneWorker {
  static RuntimeOptions Options() {
    return {.flavor = Flavor::kMultiThread, .worker_threads = 1};
  }
};

template <typename F>
class ChannelAllocTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = ::testing::Types<OneWorker, test::CurrentThread>;
TYPED_TEST_SUITE(ChannelAllocTest, Flavours);

constexpr int64_t kWarmUp = 100'000;
constexpr int64_t kMessages = 1'000'000;

// What a measured run saw: allocations inside the window, and a checksum
// proving the messages really flowed.
struct Window {
  uint64_t allocations = 0;
  int64_t sum = 0;
};

TEST(AllocationCounting, TheReplacementCountsEveryKindOfNew) {
  struct alignas(64) Wide {
    char c[64];
  };
  const uint64_t before = Allocations();
  int* volatile one = new int(1);
  delete one;
  int* volatile many = new int[3];
  delete[] many;
  int* volatile nothrow = new (std::nothrow) int(2);
  delete nothrow;
  Wide* volatile wide = new Wide;
  delete wide;
  EXPECT_EQ(Allocations() - before, 4u);
}

Task<void> ProduceMpsc(Sender<int64_t> tx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    SendResult<int64_t> r = co_await tx.Send(i);
    if (!r.ok()) co_return;
  }
}

Task<Window> MillionMpscMessages() {
  auto [tx, rx] = MakeMpsc<int64_t>(128).value();
  JoinHandle<void> producer =
      Spawn(ProduceMpsc(std::move(tx), kWarmUp + kMessages));
  for (int64_t i = 0; i < kWarmUp; ++i) (void)co_await rx.Recv();
  Window w;
  const uint64_t before = Allocations();
  for (int64_t i = 0; i < kMessages; ++i) {
    std::optional<int64_t> v = co_await rx.Recv();
    w.sum += v.value_or(-kMessages);
  }
  w.allocations = Allocations() - before;
  co_await producer;
  co_return w;
}
constexpr int64_t kMpscSum =
    (kWarmUp + kWarmUp + kMessages - 1) * kMessages / 2;

TEST(ChannelAllocPollTest, PollingAnEmptyMpscChannelAllocatesNothing) {
  // A writer draining its queue ends every round with an empty TryRecv.
  absl::StatusOr<std::pair<Sender<int64_t>, Receiver<int64_t>>> channel =
      MakeMpsc<int64_t>(16);
  ASSERT_TRUE(channel.ok());
  auto& [tx, rx] = *channel;
  ASSERT_TRUE(tx.TrySend(7).ok());
  ASSERT_EQ(rx.TryRecv().value_or(0), 7);
  const uint64_t before = Allocations();
  int unavailable = 0;
  for (int i = 0; i < 1000; ++i) {
    unavailable +=
        rx.TryRecv().status().code() == absl::StatusCode::kUnavailable;
  }
  EXPECT_EQ(Allocations() - before, 0u);
  EXPECT_EQ(unavailable, 1000);
}

TYPED_TEST(ChannelAllocTest, AMillionMpscMessagesAllocateNothingOnceWarm) {
  const Window w = this->runtime_.BlockOn(MillionMpscMessages());
  EXPECT_EQ(w.allocations, 0u);
  EXPECT_EQ(w.sum, kMpscSum);
}

// With two workers the producer and the consumer may run on different
// threads, and move: the channel's spare blocks then circulate through the
// per-thread frame caches (executor/frame_allocator.h). A thread allocates
// from the system only when its own lists and the global cache are empty,
// that is when every block that exists is in use or held by another
// thread's lists - at most 2 x kFrameBatch blocks per thread and class,
// and the channel's blocks come in two classes (small and full). So
// however tasks move, the total is bounded by the two workers' holdings
// plus the blocks in use; an allocation per block would be over 30,000 (a
// loaded machine moves the tasks often: 64, 90 and 180 were seen).
TEST(ChannelAllocTwoWorkersTest,
     AMillionMpscMessagesAllocateNoMoreThanTheWorkersCachesHold) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  const Window w = runtime.BlockOn(MillionMpscMessages());
  // The chain, the pools' spares and each thread's staging pool.
  constexpr uint64_t kInUse = 16;
  constexpr uint64_t kThreads = 2;
  constexpr uint64_t kClasses = 2;
  EXPECT_LE(w.allocations,
            kThreads * kClasses * 2 * internal::kFrameBatch + kInUse);
  EXPECT_EQ(w.sum, kMpscSum);
}

Task<void> ProduceBroadcast(const BroadcastSender<int64_t>* tx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    (void)tx->Send(i);
    if (i % 32 == 31) co_await YieldNow();  // let the receivers park, too
  }
}

// Reads until closed; counts values and lags after `skip` events.
Task<Window> ReadBroadcast(BroadcastReceiver<int64_t> rx, int64_t skip) {
  Window w;
  int64_t seen = 0;
  uint64_t before = Allocations();
  for (;;) {
    if (seen++ == skip) before = Allocations();
    BroadcastResult<int64_t> r = co_await rx.Recv();
    if (r.IsClosed()) break;
    w.sum += r.ok() ? 1 : static_cast<int64_t>(r.lagged());
  }
  w.allocations = Allocations() - before;
  co_return w;
}

TYPED_TEST(ChannelAllocTest, AMillionBroadcastValuesAllocateNothingOnceWarm) {
  auto body = []() -> Task<Window> {
    auto [tx, rx] = MakeBroadcast<int64_t>(64).value();
    JoinHandle<Window> r1 = Spawn(ReadBroadcast(rx.Subscribe(), kWarmUp));
    JoinHandle<Window> r2 = Spawn(ReadBroadcast(std::move(rx), kWarmUp));
    co_await ProduceBroadcast(&tx, kWarmUp);
    const uint64_t before = Allocations();
    co_await ProduceBroadcast(&tx, kMessages);
    Window w;
    w.allocations = Allocations() - before;  // the sender's side
    { BroadcastSender<int64_t> gone = std::move(tx); }
    for (JoinHandle<Window>* r : {&r1, &r2}) {
      const Window got = co_await *r;
      w.allocations += got.allocations;
      // Every value was either read or reported skipped.
      if (got.sum != kWarmUp + kMessages) w.sum = -1;
    }
    co_return w;
  };
  const Window w = this->runtime_.BlockOn(body());
  EXPECT_EQ(w.allocations, 0u);
  EXPECT_EQ(w.sum, 0);
}

// Waits for changes until the sender is gone; returns the last value.
Task<int64_t> ReadWatch(WatchReceiver<int64_t> rx) {
  int64_t last = 0;
  while ((co_await rx.Changed()).ok()) last = *rx.BorrowAndUpdate();
  co_return last;
}

TYPED_TEST(ChannelAllocTest, WatchChangesAllocateNothing) {
  constexpr int64_t kChanges = 100'000;
  auto body = []() -> Task<Window> {
    auto [tx, rx] = MakeWatch<int64_t>(0);
    JoinHandle<int64_t> reader = Spawn(ReadWatch(std::move(rx)));
    for (int64_t i = 1; i <= 1000; ++i) {
      (void)tx.Send(i);
      co_await YieldNow();
    }
    Window w;
    const uint64_t before = Allocations();
    for (int64_t i = 1001; i <= kChanges; ++i) {
      (void)tx.Send(i);
      co_await YieldNow();
    }
    w.allocations = Allocations() - before;
    { WatchSender<int64_t> gone = std::move(tx); }
    w.sum = co_await reader;
    co_return w;
  };
  const Window w = this->runtime_.BlockOn(body());
  EXPECT_EQ(w.allocations, 0u);
  EXPECT_EQ(w.sum, kChanges);
}

TYPED_TEST(ChannelAllocTest, SelectingOnAMailboxAndATimerAllocatesNothing) {
  constexpr int64_t kSelects = 100'000;
  auto body = []() -> Task<Window> {
    auto [tx, rx] = MakeMpsc<int64_t>(64).value();
    JoinHandle<void> producer =
        Spawn(ProduceMpsc(std::move(tx), kWarmUp + kSelects));
    Window w;
    uint64_t before = Allocations();
    for (int64_t i = 0; i < kWarmUp + kSelects; ++i) {
      if (i == kWarmUp) before = Allocations();
      auto r = co_await Select(OnRecv(rx), OnSleep(std::chrono::hours(1)));
      if (r.index() == 0) w.sum += std::get<0>(r).has_value() ? 1 : 0;
    }
    w.allocations = Allocations() - before;
    co_await producer;
    co_return w;
  };
  const Window w = this->runtime_.BlockOn(body());
  EXPECT_EQ(w.allocations, 0u);
  EXPECT_EQ(w.sum, kWarmUp + kSelects);
}

}  // namespace
}  // namespace troupe
