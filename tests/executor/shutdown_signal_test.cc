// SIGTERM and SIGINT as an awaitable: a task waiting on ShutdownSignal()
// wakes with the signal number, and every later awaiter sees it too.

#include "executor/shutdown_signal.h"

#include <signal.h>

#include <thread>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

TEST(ShutdownSignal, ATaskAwaitingItWakesWithSigtermAndLaterAwaitersToo) {
  Runtime runtime({.worker_threads = 2});
  ShutdownToken();  // installs the handlers before the signal is raised
  JoinHandle<int> waiter = runtime.Spawn(ShutdownSignal());
  std::thread raiser([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(::getpid(), SIGTERM);
  });
  auto body = [](JoinHandle<int> w) -> Task<std::pair<int, int>> {
    const int first = co_await w;
    const int later = co_await ShutdownSignal();  // already happened
    co_return std::pair<int, int>(first, later);
  };
  const auto [first, later] = runtime.BlockOn(body(std::move(waiter)));
  raiser.join();
  EXPECT_EQ(first, SIGTERM);
  EXPECT_EQ(later, SIGTERM);
  EXPECT_TRUE(ShutdownToken().IsCancelled());
  EXPECT_EQ(ReceivedShutdownSignal(), SIGTERM);
}

}  // namespace
}  // namespace troupe
