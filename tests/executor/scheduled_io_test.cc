// ScheduledIo on its own: the readiness word's tick protocol (an edge that
// arrives between seeing readiness and clearing it is never lost), sticky
// end-of-stream and error bits, and the waiter list. Waiters carry fake
// tasks: waking one only drops the reference the wake took.

#include <sys/epoll.h>

#include "executor/io_readiness.h"
#include "executor/io_scheduled.h"
#include "gtest/gtest.h"
#include "tests/executor/fake_task.h"

namespace troupe {
namespace {

constexpr uint32_t kReadable = Readiness::kReadable;
constexpr uint32_t kWritable = Readiness::kWritable;

// A waiter of `task` for `interest`, as ReadyAwaiter fills it in.
void Prepare(IoWaiter* waiter, TaskHeader* task, Interest interest) {
  waiter->task = task;
  waiter->satisfying = Readiness::Satisfying(interest);
}

TEST(ScheduledIo, ClearingWithTheTickSeenClearsTheEdge) {
  ScheduledIo io(kReadable | kWritable);
  const ReadyEvent seen = io.Load(Interest::kRead);
  EXPECT_EQ(seen.ready, kReadable);
  io.ClearReadiness(Interest::kRead, seen);
  EXPECT_EQ(io.Load(Interest::kRead).ready, 0u);
  // Only the read edge went.
  EXPECT_EQ(io.Load(Interest::kWrite).ready, kWritable);
}

TEST(ScheduledIo, AnEdgeArrivingBetweenSeeingAndClearingIsKept) {
  ScheduledIo io(kReadable);
  const ReadyEvent seen = io.Load(Interest::kRead);
  // The reader's syscall said EAGAIN, but before it clears, the driver
  // dispatches a new edge: data arrived after the syscall.
  io.SetReadiness(kReadable);
  io.ClearReadiness(Interest::kRead, seen);
  EXPECT_EQ(io.Load(Interest::kRead).ready, kReadable);
  EXPECT_EQ(io.Load(Interest::kRead).tick, seen.tick + 1);
}

TEST(ScheduledIo, EndOfStreamAndErrorBitsAreSticky) {
  ScheduledIo io(0);
  io.SetReadiness(Readiness::FromEpoll(EPOLLIN | EPOLLRDHUP));
  const ReadyEvent seen = io.Load(Interest::kRead);
  EXPECT_EQ(seen.ready, kReadable | Readiness::kReadClosed);
  io.ClearReadiness(Interest::kRead, seen);
  EXPECT_EQ(io.Load(Interest::kRead).ready, Readiness::kReadClosed);
  io.SetReadiness(Readiness::FromEpoll(EPOLLERR));
  const ReadyEvent write = io.Load(Interest::kWrite);
  EXPECT_EQ(write.ready, Readiness::kError);
  io.ClearReadiness(Interest::kWrite, write);
  EXPECT_EQ(io.Load(Interest::kWrite).ready, Readiness::kError);
}

TEST(ScheduledIo, HangUpEndsBothDirections) {
  EXPECT_EQ(Readiness::FromEpoll(EPOLLHUP),
            Readiness::kReadClosed | Readiness::kWriteClosed);
}

TEST(ScheduledIo, AWaiterIsRefusedWhenTheReadinessItWantsIsAlreadyThere) {
  test::FakeTasks tasks(1);
  ScheduledIo io(kWritable);
  IoWaiter writer;
  Prepare(&writer, tasks[0], Interest::kWrite);
  EXPECT_FALSE(io.AddWaiter(&writer));
  EXPECT_EQ(io.WaiterCount(), 0);
}

TEST(ScheduledIo, ANewEdgeWakesOnlyTheWaitersItSatisfies) {
  test::FakeTasks tasks(2);
  ScheduledIo io(0);
  IoWaiter reader;
  Prepare(&reader, tasks[0], Interest::kRead);
  IoWaiter writer;
  Prepare(&writer, tasks[1], Interest::kWrite);
  ASSERT_TRUE(io.AddWaiter(&reader));
  ASSERT_TRUE(io.AddWaiter(&writer));
  EXPECT_EQ(io.WaiterCount(), 2);

  io.SetReadiness(kWritable);
  EXPECT_FALSE(reader.woken.load());
  EXPECT_TRUE(writer.woken.load());
  EXPECT_EQ(io.WaiterCount(), 1);
  // The wake took a reference and handed it to the task, which dropped it
  // (a fake task is always "scheduled"): the count is back where it was.
  EXPECT_EQ(tasks[1]->RefCountForTest(), 2u);

  // An error ends every wait.
  io.SetReadiness(Readiness::kError);
  EXPECT_TRUE(reader.woken.load());
  EXPECT_EQ(io.WaiterCount(), 0);
}

TEST(ScheduledIo, ARemovedWaiterIsNotWoken) {
  test::FakeTasks tasks(1);
  ScheduledIo io(0);
  IoWaiter reader;
  Prepare(&reader, tasks[0], Interest::kRead);
  ASSERT_TRUE(io.AddWaiter(&reader));
  io.RemoveWaiter(&reader);
  EXPECT_EQ(io.WaiterCount(), 0);
  io.SetReadiness(kReadable);
  EXPECT_FALSE(reader.woken.load());
  // Removing again (an awaiter destroyed after the fact) is harmless.
  io.RemoveWaiter(&reader);
}

TEST(ScheduledIo, ManyWaitersAreAllWokenBeyondOneBatch) {
  constexpr int kWaiters = 40;  // more than one wake-up batch
  test::FakeTasks tasks(kWaiters);
  ScheduledIo io(0);
  IoWaiter waiters[kWaiters];
  for (int i = 0; i < kWaiters; ++i) {
    Prepare(&waiters[i], tasks[static_cast<std::size_t>(i)], Interest::kRead);
    ASSERT_TRUE(io.AddWaiter(&waiters[i]));
  }
  io.SetReadiness(Readiness::kReadClosed);
  for (const IoWaiter& w : waiters) EXPECT_TRUE(w.woken.load());
  EXPECT_EQ(io.WaiterCount(), 0);
}

}  // namespace
}  // namespace troupe
