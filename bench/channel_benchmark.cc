// Micro-benchmarks of the broadcast and watch channels and of Select
// (single-threaded costs, and task-to-task hand-offs on a current-thread
// runtime; the cross-thread mpsc workloads are in //bench:workloads).
//
//   bazel run --config=bench //bench:channel_benchmark

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "channels/broadcast.h"
#include "channels/mpsc.h"
#include "channels/select.h"
#include "channels/watch.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"

namespace troupe {
namespace {

// One send, then every receiver takes the value (no runtime involved).
void BM_BroadcastSendTryRecv(benchmark::State& state) {
  const auto receivers = static_cast<int>(state.range(0));
  auto [tx, rx] = MakeBroadcast<int64_t>(1024).value();
  std::vector<BroadcastReceiver<int64_t>> rxs;
  for (int i = 1; i < receivers; ++i) rxs.push_back(tx.Subscribe());
  rxs.push_back(std::move(rx));
  int64_t i = 0;
  for (auto _ : state) {
    (void)tx.Send(i++);
    for (auto& r : rxs) benchmark::DoNotOptimize(r.TryRecv());
  }
  state.SetItemsProcessed(state.iterations() * receivers);
}
BENCHMARK(BM_BroadcastSendTryRecv)->Arg(1)->Arg(4)->Arg(16);

// Sending into a full ring that nobody reads: every send overwrites.
void BM_BroadcastSendOverwriting(benchmark::State& state) {
  auto [tx, rx] = MakeBroadcast<int64_t>(64).value();
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(tx.Send(i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BroadcastSendOverwriting);

// Runs the task `make()` returns on a current-thread runtime, once per
// iteration; the items processed are the sum of what the runs return.
template <typename Make>
void RunTasks(benchmark::State& state, Make make) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  int64_t items = 0;
  for (auto _ : state) items += runtime.BlockOn(make());
  state.SetItemsProcessed(items);
}

Task<int64_t> DrainBroadcast(BroadcastReceiver<int64_t> rx) {
  int64_t n = 0;
  for (;;) {
    BroadcastResult<int64_t> r = co_await rx.Recv();
    if (r.IsClosed()) co_return n;
    n += r.ok() ? 1 : 0;
  }
}

Task<int64_t> FanOut(int receivers, int64_t values) {
  auto [tx, rx] = MakeBroadcast<int64_t>(256).value();
  std::vector<JoinHandle<int64_t>> handles;
  for (int i = 1; i < receivers; ++i) {
    handles.push_back(Spawn(DrainBroadcast(tx.Subscribe())));
  }
  handles.push_back(Spawn(DrainBroadcast(std::move(rx))));
  for (int64_t i = 0; i < values; ++i) {
    (void)tx.Send(i);
    if (i % 64 == 63) co_await YieldNow();  // the receivers drain
  }
  { BroadcastSender<int64_t> done = std::move(tx); }
  int64_t delivered = 0;
  for (auto& h : handles) delivered += co_await h;
  co_return delivered;
}

// A producer task fans values out to receiver tasks that park and wake.
void BM_BroadcastTaskFanOut(benchmark::State& state) {
  const auto receivers = static_cast<int>(state.range(0));
  RunTasks(state, [receivers] { return FanOut(receivers, 10'000); });
}
BENCHMARK(BM_BroadcastTaskFanOut)->Arg(1)->Arg(4)->Arg(16);

// A send, then a receiver borrows the new value and marks it seen.
void BM_WatchSendBorrow(benchmark::State& state) {
  auto [tx, rx] = MakeWatch<int64_t>(0);
  int64_t i = 0;
  for (auto _ : state) {
    (void)tx.Send(i++);
    benchmark::DoNotOptimize(*rx.BorrowAndUpdate());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WatchSendBorrow);

void BM_WatchBorrow(benchmark::State& state) {
  auto [tx, rx] = MakeWatch<int64_t>(42);
  for (auto _ : state) benchmark::DoNotOptimize(*rx.Borrow());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WatchBorrow);

Task<int64_t> WatchChanges(WatchReceiver<int64_t> rx) {
  int64_t changes = 0;
  while ((co_await rx.Changed()).ok()) ++changes;
  co_return changes;
}

Task<int64_t> WatchPingPong(int64_t sends) {
  auto [tx, rx] = MakeWatch<int64_t>(0);
  JoinHandle<int64_t> reader = Spawn(WatchChanges(std::move(rx)));
  for (int64_t i = 1; i <= sends; ++i) {
    (void)tx.Send(i);
    co_await YieldNow();  // the reader wakes and parks again
  }
  { WatchSender<int64_t> done = std::move(tx); }
  co_return co_await reader;
}

// A sender task changes the value; a receiver task wakes for each change.
void BM_WatchTaskChanged(benchmark::State& state) {
  RunTasks(state, [] { return WatchPingPong(10'000); });
}
BENCHMARK(BM_WatchTaskChanged);

// Receiving from a ready mpsc channel: plain Recv, then through Select
// with a second ready channel, and with a timer alongside.
enum class RecvKind { kPlain, kSelectTwo, kSelectTimer };

Task<int64_t> ReceiveReady(RecvKind kind, int64_t n) {
  auto [tx_a, rx_a] = MakeMpsc<int64_t>(static_cast<std::size_t>(n)).value();
  auto [tx_b, rx_b] = MakeMpsc<int64_t>(static_cast<std::size_t>(n)).value();
  for (int64_t i = 0; i < n; ++i) {
    (void)tx_a.TrySend(i);
    (void)tx_b.TrySend(i);
  }
  int64_t got = 0;
  for (int64_t i = 0; i < n; ++i) {
    switch (kind) {
      case RecvKind::kPlain:
        got += (co_await rx_a.Recv()).has_value() ? 1 : 0;
        break;
      case RecvKind::kSelectTwo: {
        auto r = co_await Select(OnRecv(rx_a), OnRecv(rx_b));
        benchmark::DoNotOptimize(r);
        ++got;
        break;
      }
      case RecvKind::kSelectTimer: {
        auto r = co_await Select(OnRecv(rx_a), OnSleep(std::chrono::hours(1)));
        got += r.index() == 0 ? 1 : 0;
        break;
      }
    }
  }
  co_return got;
}

void BM_RecvReady(benchmark::State& state) {
  const auto kind = static_cast<RecvKind>(state.range(0));
  RunTasks(state, [kind] { return ReceiveReady(kind, 10'000); });
  state.SetLabel(kind == RecvKind::kPlain       ? "Recv"
                 : kind == RecvKind::kSelectTwo ? "Select(mpsc, mpsc)"
                                                : "Select(mpsc, timer)");
}
BENCHMARK(BM_RecvReady)->Arg(0)->Arg(1)->Arg(2);

Task<void> PingSide(Receiver<int64_t> in, Sender<int64_t> out, bool select) {
  for (;;) {
    std::optional<int64_t> v;
    if (select) {
      auto r = co_await Select(OnRecv(in), OnSleep(std::chrono::hours(1)));
      if (r.index() == 0) v = std::get<0>(r);
    } else {
      v = co_await in.Recv();
    }
    if (!v.has_value() || *v == 0) co_return;
    if (!(co_await out.Send(*v - 1)).ok()) co_return;
  }
}

// Returns the number of hand-offs.
Task<int64_t> PingPong(int64_t rounds, bool select) {
  auto [tx_ab, rx_ab] = MakeMpsc<int64_t>(1).value();
  auto [tx_ba, rx_ba] = MakeMpsc<int64_t>(1).value();
  JoinHandle<void> b =
      Spawn(PingSide(std::move(rx_ab), std::move(tx_ba), select));
  (void)co_await tx_ab.Send(2 * rounds);
  co_await PingSide(std::move(rx_ba), std::move(tx_ab), select);
  co_await b;
  co_return 2 * rounds;
}

// Two tasks bounce a counter: each wait parks and is woken, plainly or
// through a select with a timer (registering and withdrawing both).
void BM_PingPongParked(benchmark::State& state) {
  const bool select = state.range(0) != 0;
  RunTasks(state, [select] { return PingPong(10'000, select); });
  state.SetLabel(select ? "Select(mpsc, timer)" : "Recv");
}
BENCHMARK(BM_PingPongParked)->Arg(0)->Arg(1);

}  // namespace
}  // namespace troupe
