// The eventfd wake-up path end to end: a task parked on a channel in a
// runtime whose only worker is idle - so that worker holds the driver and
// sleeps in epoll_wait with no deadline - is woken by a task running on a
// worker of another runtime that sends to it. The wake-up can only get
// through by the eventfd (the TimeDriver's futex is not what the holder
// sleeps on any more). Run for the multi-thread flavour (one worker) and
// the current-thread flavour (driven by BlockOn).

#include <chrono>
#include <optional>
#include <utility>

#include "channels/mpsc.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

constexpr int kRounds = 30;

// Receives 0..kRounds-1; returns how many arrived in order.
Task<int> ReceiveInOrder(Receiver<int> rx) {
  int in_order = 0;
  for (int i = 0; i < kRounds; ++i) {
    std::optional<int> v = co_await rx.Recv();
    if (v == i) ++in_order;
  }
  co_return in_order;
}

// Sends 0..kRounds-1, pausing before each so the receiver's worker has
// gone back to sleep in epoll_wait.
Task<void> SendSlowly(Sender<int> tx) {
  for (int i = 0; i < kRounds; ++i) {
    co_await SleepFor(std::chrono::milliseconds(3));
    (void)co_await tx.Send(i);
  }
}

// Sends from a one-worker multi-thread runtime to a task of a runtime
// built with `receiver_options`; returns the receiver's eventfd wake-ups.
uint64_t SendAcrossRuntimes(const RuntimeOptions& receiver_options) {
  Runtime receiver(receiver_options);
  Runtime sender({.flavor = Flavor::kMultiThread, .worker_threads = 1});
  auto [tx, rx] = MakeMpsc<int>(4).value();
  JoinHandle<void> sending = sender.Spawn(SendSlowly(std::move(tx)));
  EXPECT_EQ(receiver.BlockOn(ReceiveInOrder(std::move(rx))), kRounds);
  sender.BlockOn(
      [](JoinHandle<void> h) -> Task<void> { co_await h; }(std::move(sending)));
  return receiver.scheduler().io_driver().EventfdWakes();
}

// Most rounds find the receiver's only worker asleep in epoll_wait.
TEST(IoWakeup, ASendFromAnotherRuntimeWakesAMultiThreadWorkerInEpollWait) {
  EXPECT_GT(
      SendAcrossRuntimes({.flavor = Flavor::kMultiThread, .worker_threads = 1}),
      0u);
}

TEST(IoWakeup, ASendFromAnotherRuntimeWakesACurrentThreadRuntimeInEpollWait) {
  EXPECT_GT(SendAcrossRuntimes({.flavor = Flavor::kCurrentThread}), 0u);
}

TEST(IoWakeup, ASendReachesATwoWorkerRuntimeWhereverItsWorkersSleep) {
  // One worker sleeps in epoll_wait, the other on its futex; either may be
  // picked, so only delivery (checked inside) counts.
  (void)SendAcrossRuntimes(
      {.flavor = Flavor::kMultiThread, .worker_threads = 2});
}

}  // namespace
}  // namespace troupe
