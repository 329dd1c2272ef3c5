// The I/O reactor as a driver: what wakes a thread blocked in its
// epoll_wait (Unpark through the eventfd; a timer registered with an
// earlier deadline; a ManualClock move - the last two forwarded by the
// TimeDriver), and readiness of a registered descriptor waking the task
// that waits on it, on both runtime flavours.

#include "executor/io_driver.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/runtime.h"
#include "executor/scheduler.h"
#include "executor/time_driver.h"
#include "gtest/gtest.h"
#include "tests/executor/fake_task.h"
#include "tests/executor/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

TEST(IoDriver, UnparkWakesAThreadBlockedInEpollWait) {
  TimeDriver timers(SystemClock::Get());
  IoDriver io(&timers);
  ASSERT_TRUE(io.status().ok()) << io.status();
  // Each round parks with no deadline at all: only Unpark ends it. Early
  // rounds may Unpark before the thread reaches epoll_wait (then the Park
  // does not block); the sleep makes the eventfd path the common one.
  for (int round = 0; round < 20 && io.EventfdWakes() == 0; ++round) {
    std::thread parked([&] { io.Park(std::nullopt); });
    std::this_thread::sleep_for(milliseconds(10));
    io.Unpark();
    parked.join();
  }
  EXPECT_GT(io.EventfdWakes(), 0u);
}

TEST(IoDriver, AnUnparkBeforeParkMakesTheNextParkReturnAtOnce) {
  TimeDriver timers(SystemClock::Get());
  IoDriver io(&timers);
  io.Unpark();
  io.Park(std::nullopt);  // would hang if the wake-up were lost
  EXPECT_EQ(io.EventfdWakes(), 0u);
}

// Parks until `entry` fires, as a driver holder would.
void ParkUntilFired(IoDriver* io, const TimerEntry* entry) {
  while (!entry->fired.load(std::memory_order_acquire)) {
    io->Park(std::nullopt);
  }
}

TEST(IoDriver, ATimerRegisteredWhileTheDriverWaitsWithoutDeadlineWakesIt) {
  // The holder sleeps in epoll_wait with no timeout; a timer registered
  // from another thread must still fire: the TimeDriver's "earlier
  // deadline" wake-up reaches the epoll driver.
  TimeDriver timers(SystemClock::Get());
  IoDriver io(&timers);
  test::FakeTasks tasks(1);
  TimerEntry entry;
  std::thread holder(ParkUntilFired, &io, &entry);
  std::this_thread::sleep_for(milliseconds(20));
  ASSERT_TRUE(timers.Register(
      &entry, SystemClock::Get()->Now() + milliseconds(5), tasks[0]));
  holder.join();
  EXPECT_TRUE(entry.fired.load());
  EXPECT_EQ(timers.PendingTimers(), 0);
}

TEST(IoDriver, AManualClockMoveWakesTheDriver) {
  ManualClock clock;
  TimeDriver timers(&clock);
  IoDriver io(&timers);
  test::FakeTasks tasks(1);
  TimerEntry entry;
  ASSERT_TRUE(timers.Register(&entry, clock.Now() + hours(1), tasks[0]));
  std::thread holder(ParkUntilFired, &io, &entry);
  std::this_thread::sleep_for(milliseconds(20));
  clock.Advance(hours(1));
  holder.join();
  EXPECT_TRUE(entry.fired.load());
}

template <typename F>
class IoReadinessTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(IoReadinessTest, test::RuntimeFlavours);

// Reads `want` bytes from a non-blocking pipe through the reactor.
Task<std::string> ReadPipe(int fd, std::size_t want) {
  absl::StatusOr<IoRegistration> reg =
      IoRegistration::Create(Scheduler::Current()->io_driver(), fd, 0);
  if (!reg.ok()) co_return reg.status().ToString();
  std::string got;
  char buffer[64];
  while (got.size() < want) {
    const ReadyEvent seen = co_await reg->Ready(Interest::kRead);
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      got.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      reg->ClearReadiness(Interest::kRead, seen);
    }
  }
  co_return got;
}

TYPED_TEST(IoReadinessTest, DataArrivingOnAPipeWakesTheTaskWaitingOnIt) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::thread writer([&] {
    // Two writes with a pause: the reader waits in between.
    std::this_thread::sleep_for(milliseconds(10));
    (void)!write(fds[1], "he", 2);
    std::this_thread::sleep_for(milliseconds(10));
    (void)!write(fds[1], "llo", 3);
  });
  EXPECT_EQ(this->runtime_.BlockOn(ReadPipe(fds[0], 5)), "hello");
  writer.join();
  close(fds[0]);
  close(fds[1]);
}

// Fills a non-blocking pipe, then writes `extra` more bytes, waiting for
// room through the reactor.
Task<std::size_t> OverfillPipe(int fd, std::size_t extra) {
  absl::StatusOr<IoRegistration> reg = IoRegistration::Create(
      Scheduler::Current()->io_driver(), fd, Readiness::kWritable);
  if (!reg.ok()) co_return 0;
  const std::string block(4096, 'x');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  std::size_t written = 0;
  while (written < extra) {
    const ReadyEvent seen = co_await reg->Ready(Interest::kWrite);
    const ssize_t n =
        write(fd, block.data(), std::min(block.size(), extra - written));
    if (n > 0) {
      written += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN) {
      reg->ClearReadiness(Interest::kWrite, seen);
    }
  }
  co_return written;
}

TYPED_TEST(IoReadinessTest, AFullPipeWakesItsWriterOnceSomeoneDrainsIt) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::atomic<bool> done{false};
  std::thread drainer([&] {
    char buffer[8192];
    while (!done.load(std::memory_order_acquire)) {
      if (read(fds[0], buffer, sizeof(buffer)) <= 0) {
        std::this_thread::sleep_for(milliseconds(1));
      }
    }
  });
  EXPECT_EQ(this->runtime_.BlockOn(OverfillPipe(fds[1], 100000)), 100000u);
  done.store(true, std::memory_order_release);
  drainer.join();
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace troupe
