// The five executor workloads of WORKLOADS.md (peer: Tokio's multi-thread
// runtime with 2 workers). Timed inside the runtime by a driver task, as
// the peer does, except spawn_remote, which is driven from outside.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness.h"
#include "bench/workloads.h"
#include "channels/oneshot.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"

namespace troupe::bench {
namespace {

// A countdown shared by many tasks; the task that reaches zero signals.
struct Countdown {
  explicit Countdown(int64_t n) : remaining(n) {
    auto [tx, rx] = MakeOneshot<int>();
    done_tx = std::move(tx);
    done_rx = std::move(rx);
  }
  void CountDown() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      (void)done_tx.Send(1);
    }
  }
  std::atomic<int64_t> remaining;
  OneshotSender<int> done_tx;
  OneshotReceiver<int> done_rx;
};

double SpawnLocal(Runtime& rt) {
  constexpr int64_t kN = 100'000;
  return Bench([&] {
    auto body = []() -> Task<double> {
      Countdown countdown(kN);
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < kN; ++i) {
        SpawnDetached([](Countdown* c) -> Task<void> {
          c->CountDown();
          co_return;
        }(&countdown));
      }
      (void)co_await countdown.done_rx;
      const auto elapsed = Clock::now() - t0;
      Check(countdown.remaining.load() == 0, "spawn_local: tasks did not run");
      co_return NsPer(elapsed, kN);
    };
    return rt.BlockOn(body());
  });
}

double SpawnRemote(Runtime& rt) {
  constexpr int kN = 100'000;
  return Bench([&] {
    std::vector<JoinHandle<void>> handles;
    handles.reserve(kN);
    const auto t0 = Clock::now();
    for (int i = 0; i < kN; ++i) {
      handles.push_back(rt.Spawn([]() -> Task<void> { co_return; }()));
    }
    auto join = [](std::vector<JoinHandle<void>>* hs) -> Task<int> {
      int ok = 0;
      for (JoinHandle<void>& h : *hs) {
        co_await h;
        ++ok;
      }
      co_return ok;
    };
    const int joined = rt.BlockOn(join(&handles));
    const auto elapsed = Clock::now() - t0;
    Check(joined == kN, "spawn_remote: not every task joined");
    return NsPer(elapsed, kN);
  });
}

double YieldMany(Runtime& rt) {
  constexpr int kTasks = 200;
  constexpr int kYields = 1'000;
  return Bench([&] {
    auto body = []() -> Task<double> {
      Countdown countdown(kTasks);
      std::atomic<int64_t> yields{0};
      const auto t0 = Clock::now();
      for (int t = 0; t < kTasks; ++t) {
        SpawnDetached([](Countdown* c, std::atomic<int64_t>* y) -> Task<void> {
          int64_t n = 0;
          for (int i = 0; i < kYields; ++i) {
            co_await YieldNow();
            ++n;
          }
          y->fetch_add(n, std::memory_order_relaxed);
          c->CountDown();
        }(&countdown, &yields));
      }
      (void)co_await countdown.done_rx;
      const auto elapsed = Clock::now() - t0;
      Check(yields.load() == int64_t{kTasks} * kYields,
            "yield_many: wrong number of yields");
      co_return NsPer(elapsed, double{kTasks} * kYields);
    };
    return rt.BlockOn(body());
  });
}

double PingPong(Runtime& rt) {
  constexpr uint64_t kPairs = 1'000;
  return Bench([&] {
    auto body = []() -> Task<double> {
      Countdown countdown(kPairs);
      std::atomic<uint64_t> sum{0};
      const auto t0 = Clock::now();
      for (uint64_t i = 0; i < kPairs; ++i) {
        SpawnDetached([](uint64_t i, Countdown* c,
                         std::atomic<uint64_t>* sum) -> Task<void> {
          auto [tx1, rx1] = MakeOneshot<uint64_t>();
          auto [tx2, rx2] = MakeOneshot<uint64_t>();
          SpawnDetached([](OneshotReceiver<uint64_t> rx,
                           OneshotSender<uint64_t> tx) -> Task<void> {
            absl::StatusOr<uint64_t> v = co_await rx;
            (void)tx.Send(*v + 1);
          }(std::move(rx1), std::move(tx2)));
          (void)tx1.Send(i);
          absl::StatusOr<uint64_t> answer = co_await rx2;
          sum->fetch_add(*answer, std::memory_order_relaxed);
          c->CountDown();
        }(i, &countdown, &sum));
      }
      (void)co_await countdown.done_rx;
      const auto elapsed = Clock::now() - t0;
      Check(sum.load() == kPairs * (kPairs + 1) / 2,
            "ping_pong: wrong sum of answers");
      co_return NsPer(elapsed, kPairs);
    };
    return rt.BlockOn(body());
  });
}

Task<void> Chain(OneshotSender<int> done, int left, int depth) {
  if (left == 0) {
    (void)done.Send(depth);
  } else {
    SpawnDetached(Chain(std::move(done), left - 1, depth + 1));
  }
  co_return;
}

double ChainedSpawn(Runtime& rt) {
  constexpr int kN = 1'000;
  return Bench([&] {
    auto body = []() -> Task<double> {
      auto [tx, rx] = MakeOneshot<int>();
      const auto t0 = Clock::now();
      SpawnDetached(Chain(std::move(tx), kN, 0));
      absl::StatusOr<int> depth = co_await rx;
      const auto elapsed = Clock::now() - t0;
      Check(depth.ok() && *depth == kN, "chained_spawn: wrong chain length");
      co_return NsPer(elapsed, kN);
    };
    return rt.BlockOn(body());
  });
}

}  // namespace

void RegisterExecutorWorkloads(WorkloadRegistry& registry) {
  auto multi = [](double (*fn)(Runtime&)) {
    return [fn] {
      Runtime rt({.worker_threads = kWorkerThreads});
      return fn(rt);
    };
  };
  registry.Add("spawn_local", "ns/task", multi(SpawnLocal));
  registry.Add("spawn_remote", "ns/task", multi(SpawnRemote));
  registry.Add("yield_many", "ns/yield", multi(YieldMany));
  registry.Add("ping_pong", "ns/pair", multi(PingPong));
  registry.Add("chained_spawn", "ns/spawn", multi(ChainedSpawn));
}

}  // namespace troupe::bench
