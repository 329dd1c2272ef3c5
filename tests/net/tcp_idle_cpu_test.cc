// An idle runtime with open sockets sleeps in epoll_wait: over one idle
// second, with a task waiting in Accept and another in Read on an idle
// connection, the process uses next to no CPU. (Timed by nature, like
// tests/executor/idle_cpu_test.cc: the bound, 50 ms per second, is far
// above what an idle reactor needs and far below what spinning costs.)

#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/executor/test_util.h"
#include "tests/net/tcp_test_util.h"

namespace troupe::net {
namespace {

using std::chrono::milliseconds;

Duration ProcessCpuTime() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Opens a listener and a connected pair, leaves a task waiting in Accept
// and one in Read, says so through `waiting`, and waits for ever (until
// the runtime shuts down and destroys it, closing the sockets).
Task<void> WaitOnSockets(std::atomic<int>* waiting) {
  absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  if (!listener.ok() || !pair.ok()) co_return;
  auto accept = [](TcpListener* l) -> Task<void> {
    (void)co_await l->Accept();
  };
  auto read = [](TcpStream* s) -> Task<void> {
    char buffer[16];
    (void)co_await s->Read(buffer);
  };
  JoinHandle<void> acceptor = Spawn(accept(&*listener));
  JoinHandle<void> reader = Spawn(read(&pair->server));
  while (listener->WaitingTasks() + pair->server.WaitingTasks() < 2) {
    co_await SleepFor(milliseconds(1));
  }
  waiting->store(1, std::memory_order_release);
  co_await acceptor;
  co_await reader;
}

// CPU used by the whole process over one second once the sockets wait.
Duration IdleSecondCpu(const std::atomic<int>& waiting) {
  test::WaitUntil([&] { return waiting.load(std::memory_order_acquire) == 1; });
  std::this_thread::sleep_for(milliseconds(100));
  const Duration start = ProcessCpuTime();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return ProcessCpuTime() - start;
}

TEST(TcpIdleCpu, AMultiThreadRuntimeWaitingOnSocketsUsesAlmostNoCpu) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  std::atomic<int> waiting{0};
  runtime.Spawn(WaitOnSockets(&waiting)).Detach();
  const Duration cpu = IdleSecondCpu(waiting);
  EXPECT_LT(cpu, milliseconds(50))
      << std::chrono::duration_cast<std::chrono::microseconds>(cpu).count()
      << " us of CPU in an idle second";
}

TEST(TcpIdleCpu, ACurrentThreadRuntimeWaitingOnSocketsUsesAlmostNoCpu) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  std::atomic<int> waiting{0};
  std::thread driver([&] {
    try {
      runtime.BlockOn(WaitOnSockets(&waiting));
    } catch (const CancelledError&) {
      // Shut down below while it waited: expected.
    }
  });
  const Duration cpu = IdleSecondCpu(waiting);
  runtime.Shutdown();
  driver.join();
  EXPECT_LT(cpu, milliseconds(50))
      << std::chrono::duration_cast<std::chrono::microseconds>(cpu).count()
      << " us of CPU in an idle second";
}

}  // namespace
}  // namespace troupe::net
