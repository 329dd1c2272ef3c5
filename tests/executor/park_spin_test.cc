// When a worker that ran out of work spins before it parks (the
// `spins` metric counts the spins): without sockets it spins, because the
// work may come from another thread within microseconds; a lone worker
// with a socket registered parks at once, because its next work is I/O,
// which reaches it only through the driver it drives once parked.
//
// Each scenario runs on a one-worker multi-thread runtime and makes that
// worker run dry a few times (a task sleeping a millisecond): every time
// it decides once whether to spin, and the counter says what it decided.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "executor/io_driver.h"
#include "executor/runtime.h"
#include "executor/scheduler.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

constexpr int kRounds = 5;

struct Decisions {
  uint64_t spins = 0;
  uint64_t parks = 0;
};

Decisions Snapshot() {
  const WorkerMetrics w = Runtime::Current()->Metrics().workers.at(0);
  return {w.spins, w.parks};
}

// Sleeps kRounds times; with `register_socket`, while one end of a socket
// pair is registered with the reactor. Returns the spins and parks of the
// worker over those rounds.
Task<Decisions> SleepRounds(bool register_socket) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) !=
      0) {
    co_return Decisions{UINT64_MAX, 0};
  }
  IoRegistration registration;
  if (register_socket) {
    absl::StatusOr<IoRegistration> created =
        IoRegistration::Create(Scheduler::Current()->io_driver(), fds[0], 0);
    if (!created.ok()) co_return Decisions{UINT64_MAX, 0};
    registration = std::move(*created);
  }
  // The worker is running this task: its counters stand still until the
  // first sleep.
  const Decisions before = Snapshot();
  for (int i = 0; i < kRounds; ++i) {
    co_await SleepFor(std::chrono::milliseconds(1));
  }
  const Decisions after = Snapshot();
  registration.Reset();
  close(fds[0]);
  close(fds[1]);
  co_return Decisions{after.spins - before.spins, after.parks - before.parks};
}

RuntimeOptions OneWorker() {
  return {.flavor = Flavor::kMultiThread, .worker_threads = 1};
}

TEST(ParkSpin, AWorkerWithoutSocketsSpinsEveryTimeItRunsDry) {
  Runtime runtime(OneWorker());
  const Decisions d = runtime.BlockOn(SleepRounds(/*register_socket=*/false));
  EXPECT_GE(d.spins, static_cast<uint64_t>(kRounds));
  EXPECT_GE(d.parks, static_cast<uint64_t>(kRounds));
}

TEST(ParkSpin, ALoneWorkerWithASocketRegisteredParksWithoutSpinning) {
  Runtime runtime(OneWorker());
  const Decisions d = runtime.BlockOn(SleepRounds(/*register_socket=*/true));
  EXPECT_EQ(d.spins, 0u);
  EXPECT_GE(d.parks, static_cast<uint64_t>(kRounds));
}

}  // namespace
}  // namespace troupe
