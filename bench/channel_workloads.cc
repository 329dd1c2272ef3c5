// The three channel workloads of WORKLOADS.md (peer: tokio::sync::mpsc).
// Payload: a 64-bit integer; the consumer sums what it receives and checks
// the count and the sum.

#include <cstdint>

#include "bench/harness.h"
#include "bench/workloads.h"
#include "channels/mpsc.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"

namespace troupe::bench {
namespace {

struct Totals {
  uint64_t sum = 0;
  uint64_t count = 0;
};

Task<Totals> Consume(Receiver<uint64_t> rx) {
  Totals t;
  while (std::optional<uint64_t> v = co_await rx.Recv()) {
    t.sum += *v;
    ++t.count;
  }
  co_return t;
}

Task<void> Produce(Sender<uint64_t> tx, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    if (!(co_await tx.Send(i)).ok()) co_return;
  }
}

double MpscRun(Runtime& rt, uint64_t producers, uint64_t per_producer,
               std::size_t capacity) {
  const uint64_t total = producers * per_producer;
  return Bench([&] {
    auto body = [](uint64_t producers, uint64_t per_producer,
                   std::size_t capacity) -> Task<double> {
      const uint64_t total = producers * per_producer;
      auto [tx, rx] = MakeMpsc<uint64_t>(capacity).value();
      const auto t0 = Clock::now();
      JoinHandle<Totals> consumer = Spawn(Consume(std::move(rx)));
      for (uint64_t p = 0; p < producers; ++p) {
        SpawnDetached(Produce(tx, p * per_producer, (p + 1) * per_producer));
      }
      { Sender<uint64_t> drop = std::move(tx); }
      const Totals t = co_await consumer;
      const auto elapsed = Clock::now() - t0;
      Check(t.count == total, "mpsc: wrong number of values received");
      Check(t.sum == total * (total - 1) / 2, "mpsc: wrong sum");
      co_return MegaPerSecond(elapsed, static_cast<double>(total));
    };
    return rt.BlockOn(body(producers, per_producer, capacity));
  });
  (void)total;
}

}  // namespace

void RegisterChannelWorkloads(WorkloadRegistry& registry) {
  auto run = [](uint64_t producers, uint64_t per, std::size_t cap) {
    return [=] {
      Runtime rt({.worker_threads = kWorkerThreads});
      return MpscRun(rt, producers, per, cap);
    };
  };
  registry.Add("mpsc_uncontended", "Mmsg/s", run(1, 2'000'000, 128));
  registry.Add("mpsc_contended", "Mmsg/s", run(4, 500'000, 1'024));
  registry.Add("mpsc_backpressure", "Mmsg/s", run(4, 500'000, 16));
}

}  // namespace troupe::bench
