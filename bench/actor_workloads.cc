// The actor and single-thread workloads of WORKLOADS.md, written the way a
// troupe user would write them (peers: CAF event-based actors, Tokio's
// "actor = task owning an mpsc receiver", mailbox capacity 1,024).

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "bench/harness.h"
#include "bench/workloads.h"
#include "channels/oneshot.h"
#include "executor/runtime.h"

namespace troupe::bench {
namespace {

// ---- ping-pong -------------------------------------------------------------

class PongActor;
struct Start {
  Start(uint64_t r, std::shared_ptr<OneshotSender<uint64_t>> d)
      : rounds(r), done(std::move(d)) {}
  uint64_t rounds;
  std::shared_ptr<OneshotSender<uint64_t>> done;
};
struct PongMsg {
  uint64_t n;
};
struct PingMsg {
  uint64_t n;
};

class PingActor : public Actor<PingActor> {
 public:
  explicit PingActor(ActorRef<PongActor> pong) : pong_(std::move(pong)) {}
  Task<void> Handle(Start s);
  Task<void> Handle(PongMsg m);

 private:
  ActorRef<PongActor> pong_;
  uint64_t remaining_ = 0;
  uint64_t pongs_ = 0;
  std::shared_ptr<OneshotSender<uint64_t>> done_;
};

class PongActor : public Actor<PongActor> {
 public:
  struct SetPing {
    explicit SetPing(ActorRef<PingActor> p) : ping(std::move(p)) {}
    ActorRef<PingActor> ping;
  };
  void Handle(SetPing s) { ping_ = std::move(s.ping); }
  Task<void> Handle(PingMsg m) { (void)co_await ping_.Send(PongMsg{m.n}); }

 private:
  ActorRef<PingActor> ping_;
};

Task<void> PingActor::Handle(Start s) {
  remaining_ = s.rounds;
  done_ = std::move(s.done);
  (void)co_await pong_.Send(PingMsg{remaining_});
}

Task<void> PingActor::Handle(PongMsg m) {
  Check(m.n == remaining_, "actor_ping_pong: pong out of order");
  ++pongs_;
  if (--remaining_ == 0) {
    (void)done_->Send(pongs_);
    co_return;
  }
  (void)co_await pong_.Send(PingMsg{remaining_});
}

double ActorPingPong() {
  static constexpr uint64_t kRounds = 1'000'000;
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      ActorRef<PongActor> pong = system->Spawn<PongActor>();
      ActorRef<PingActor> ping = system->Spawn<PingActor>(pong);
      (void)co_await pong.Send(PongActor::SetPing{ping});
      auto [tx, rx] = MakeOneshot<uint64_t>();
      auto done = std::make_shared<OneshotSender<uint64_t>>(std::move(tx));
      const auto t0 = Clock::now();
      (void)co_await ping.Send(Start{kRounds, done});
      absl::StatusOr<uint64_t> pongs = co_await rx;
      const auto elapsed = Clock::now() - t0;
      Check(pongs.ok() && *pongs == kRounds, "actor_ping_pong: wrong count");
      ping.cell()->RequestStop(absl::OkStatus());
      pong.cell()->RequestStop(absl::OkStatus());
      co_return MegaPerSecond(elapsed, kRounds);
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(5));
  return v;
}

// ---- counting (and st_tell_rate) --------------------------------------------

struct Inc {};
struct GetCount {};
class CountActor : public Actor<CountActor> {
 public:
  void Handle(Inc) { ++count_; }
  uint64_t Handle(GetCount) { return count_; }

 private:
  uint64_t count_ = 0;
};

double Counting(const RuntimeOptions& options) {
  static constexpr uint64_t kN = 10'000'000;
  Runtime rt(options);
  ActorSystem system(rt, {.watchdog = false});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      ActorRef<CountActor> counter = system->Spawn<CountActor>();
      const auto t0 = Clock::now();
      for (uint64_t i = 0; i < kN; ++i) (void)co_await counter.Send(Inc{});
      absl::StatusOr<uint64_t> count = co_await counter.Ask(GetCount{});
      const auto elapsed = Clock::now() - t0;
      Check(count.ok() && *count == kN, "counting: wrong count");
      co_return MegaPerSecond(elapsed, kN);
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(5));
  return v;
}

// ---- fan-in ----------------------------------------------------------------

struct Value {
  uint64_t v;
};
// Sums the `v` of `expected` messages of type M, then sends the sum (the
// sink of fan-in, the collector of create).
template <typename M>
class SummingActor : public Actor<SummingActor<M>> {
 public:
  SummingActor(uint64_t expected, std::shared_ptr<OneshotSender<uint64_t>> done)
      : expected_(expected), done_(std::move(done)) {}
  void Handle(M m) {
    sum_ += m.v;
    if (++count_ == expected_) (void)done_->Send(sum_);
  }

 private:
  uint64_t expected_;
  std::shared_ptr<OneshotSender<uint64_t>> done_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
};
using SinkActor = SummingActor<Value>;

struct Go {
  uint64_t n;
};
class FanInSender : public Actor<FanInSender> {
 public:
  explicit FanInSender(ActorRef<SinkActor> sink) : sink_(std::move(sink)) {}
  Task<void> Handle(Go g) {
    for (uint64_t i = 0; i < g.n; ++i) (void)co_await sink_.Send(Value{i});
    sink_ = ActorRef<SinkActor>();  // let the sink see its senders go
    Stop();
  }

 private:
  ActorRef<SinkActor> sink_;
};

double ActorFanIn() {
  static constexpr uint64_t kSenders = 100;
  static constexpr uint64_t kPer = 100'000;
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      auto [tx, rx] = MakeOneshot<uint64_t>();
      auto done = std::make_shared<OneshotSender<uint64_t>>(std::move(tx));
      ActorRef<SinkActor> sink =
          system->Spawn<SinkActor>(kSenders * kPer, done);
      std::vector<ActorRef<FanInSender>> senders;
      for (uint64_t s = 0; s < kSenders; ++s) {
        senders.push_back(system->Spawn<FanInSender>(sink));
      }
      const auto t0 = Clock::now();
      for (auto& s : senders) (void)co_await s.Send(Go{kPer});
      absl::StatusOr<uint64_t> sum = co_await rx;
      const auto elapsed = Clock::now() - t0;
      Check(sum.ok() && *sum == kSenders * (kPer * (kPer - 1) / 2),
            "actor_fan_in: wrong sum");
      sink.cell()->RequestStop(absl::OkStatus());
      co_return MegaPerSecond(elapsed, kSenders * kPer);
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(5));
  return v;
}

// ---- ring ------------------------------------------------------------------

struct Token {
  uint64_t remaining;
  uint64_t hops;
};
class RingNode : public Actor<RingNode> {
 public:
  struct SetNext {
    explicit SetNext(ActorRef<RingNode> n) : next(std::move(n)) {}
    ActorRef<RingNode> next;
  };
  explicit RingNode(std::shared_ptr<OneshotSender<uint64_t>> done)
      : done_(std::move(done)) {}
  void Handle(SetNext s) { next_ = std::move(s.next); }
  Task<void> Handle(Token t) {
    if (t.remaining == 0) {
      (void)done_->Send(t.hops);
      co_return;
    }
    (void)co_await next_.Send(Token{t.remaining - 1, t.hops + 1});
  }

 private:
  std::shared_ptr<OneshotSender<uint64_t>> done_;
  ActorRef<RingNode> next_;
};

double ActorRing() {
  static constexpr int kNodes = 100;
  static constexpr uint64_t kHops = 1'000'000;
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      auto [tx, rx] = MakeOneshot<uint64_t>();
      auto done = std::make_shared<OneshotSender<uint64_t>>(std::move(tx));
      std::vector<ActorRef<RingNode>> nodes;
      nodes.reserve(kNodes);
      for (int i = 0; i < kNodes; ++i) {
        nodes.push_back(system->Spawn<RingNode>(done));
      }
      for (int i = 0; i < kNodes; ++i) {
        (void)co_await nodes[i].Send(
            RingNode::SetNext{nodes[(i + 1) % kNodes]});
      }
      const auto t0 = Clock::now();
      (void)co_await nodes[0].Send(Token{kHops, 0});
      absl::StatusOr<uint64_t> hops = co_await rx;
      const auto elapsed = Clock::now() - t0;
      Check(hops.ok() && *hops == kHops, "actor_ring: wrong hop count");
      for (auto& n : nodes) n.cell()->RequestStop(absl::OkStatus());
      co_return MegaPerSecond(elapsed, kHops);
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(5));
  return v;
}

// ---- create ----------------------------------------------------------------

struct Done {
  uint64_t v;
};
using Collector = SummingActor<Done>;

struct Work {
  uint64_t i;
};
class Worker : public Actor<Worker> {
 public:
  explicit Worker(ActorRef<Collector> c) : collector_(std::move(c)) {}
  Task<void> Handle(Work w) {
    (void)co_await collector_.Send(Done{w.i});
    Stop();
  }

 private:
  ActorRef<Collector> collector_;
};

double ActorCreate() {
  static constexpr uint64_t kN = 100'000;
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      const auto t0 = Clock::now();
      auto [tx, rx] = MakeOneshot<uint64_t>();
      auto done = std::make_shared<OneshotSender<uint64_t>>(std::move(tx));
      ActorRef<Collector> collector = system->Spawn<Collector>(kN, done);
      for (uint64_t i = 0; i < kN; ++i) {
        ActorRef<Worker> w = system->Spawn<Worker>(collector);
        (void)co_await w.Send(Work{i});
      }
      absl::StatusOr<uint64_t> sum = co_await rx;
      const auto elapsed = Clock::now() - t0;
      Check(sum.ok() && *sum == kN * (kN - 1) / 2, "actor_create: wrong sum");
      collector.cell()->RequestStop(absl::OkStatus());
      co_return static_cast<double>(kN) /
          std::chrono::duration<double>(elapsed).count() / 1e3;
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(10));
  return v;
}

// ---- ask latency and st_ask_rate ------------------------------------------

struct AskX {
  uint64_t x;
};
class Server : public Actor<Server> {
 public:
  uint64_t Handle(AskX a) { return a.x + 1; }
};

constexpr int kAskLatencyN = 200'000;

// direct_asks: see ActorSystemOptions. The *_mailbox variants (not in
// WORKLOADS.md) turn it off, so that every ask goes through the mailbox
// and the server's runner - the path an actor that is busy, or whose
// handler is a coroutine, always takes.
double ActorAskLatency(bool direct_asks, const char* name) {
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false, .direct_asks = direct_asks});
  auto run = [&] {
    auto body = [](ActorSystem* system) -> Task<std::pair<double, double>> {
      ActorRef<Server> server = system->Spawn<Server>();
      std::vector<uint64_t> lat;
      lat.reserve(kAskLatencyN);
      for (uint64_t i = 0; i < kAskLatencyN; ++i) {
        const auto t = Clock::now();
        absl::StatusOr<uint64_t> r = co_await server.Ask(AskX{i});
        lat.push_back(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                                 t)
                .count()));
        Check(r.ok() && *r == i + 1, "actor_ask_latency: wrong answer");
      }
      std::sort(lat.begin(), lat.end());
      server.cell()->RequestStop(absl::OkStatus());
      co_return std::pair<double, double>(lat[kAskLatencyN / 2],
                                          lat[kAskLatencyN * 99 / 100]);
    };
    return rt.BlockOn(body(&system));
  };
  for (int i = 0; i < kWarmup; ++i) run();
  std::vector<double> p50s, p99s;
  for (int i = 0; i < kRuns; ++i) {
    auto [p50, p99] = run();
    p50s.push_back(p50);
    p99s.push_back(p99);
  }
  system.BlockingShutdown(std::chrono::seconds(5));
  Report(name, Median(p50s), "ns");
  Report(std::string(name) + "_p99", Median(p99s), "ns");
  return std::nan("");  // already reported
}

double StAskRate(bool direct_asks) {
  static constexpr uint64_t kN = 2'000'000;
  Runtime rt({.flavor = Flavor::kCurrentThread});
  ActorSystem system(rt, {.watchdog = false, .direct_asks = direct_asks});
  const double v = Bench([&] {
    auto body = [](ActorSystem* system) -> Task<double> {
      ActorRef<Server> server = system->Spawn<Server>();
      uint64_t sum = 0;
      const auto t0 = Clock::now();
      for (uint64_t i = 0; i < kN; ++i) {
        absl::StatusOr<uint64_t> r = co_await server.Ask(AskX{i});
        sum += *r;
      }
      const auto elapsed = Clock::now() - t0;
      Check(sum == kN * (kN + 1) / 2, "st_ask_rate: wrong sum");
      server.cell()->RequestStop(absl::OkStatus());
      co_return MegaPerSecond(elapsed, kN);
    };
    return rt.BlockOn(body(&system));
  });
  system.BlockingShutdown(std::chrono::seconds(5));
  return v;
}

// ---- memory ----------------------------------------------------------------

std::atomic<uint64_t> g_idle_started{0};

class IdleActor : public Actor<IdleActor> {
 public:
  void OnStart() { g_idle_started.fetch_add(1, std::memory_order_relaxed); }
  uint64_t Handle(GetCount) { return count_; }

 private:
  uint64_t count_ = 0;
};

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double ActorMemory() {
  static constexpr uint64_t kN = 100'000;
  Runtime rt({.worker_threads = kWorkerThreads});
  ActorSystem system(rt, {.watchdog = false});
  std::vector<std::vector<ActorRef<IdleActor>>> batches;
  batches.reserve(kWarmup + kRuns);
  const double v = Bench([&] {
    std::vector<ActorRef<IdleActor>> batch;
    batch.reserve(kN);
    const uint64_t target = g_idle_started.load() + kN;
    malloc_trim(0);
    const uint64_t before = ResidentBytes();
    for (uint64_t i = 0; i < kN; ++i) {
      batch.push_back(system.Spawn<IdleActor>());
    }
    while (g_idle_started.load() < target) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const uint64_t after = ResidentBytes();
    batches.push_back(std::move(batch));
    return static_cast<double>(after > before ? after - before : 0) /
           static_cast<double>(kN);
  });
  absl::StatusOr<uint64_t> probe =
      batches.back().back().BlockingAsk(rt, GetCount{});
  Check(probe.ok() && *probe == 0, "actor_memory: the idle actor misbehaves");
  batches.clear();
  system.BlockingShutdown(std::chrono::seconds(30));
  return v;
}

}  // namespace

void RegisterActorWorkloads(WorkloadRegistry& registry) {
  registry.Add("actor_ping_pong", "Mrt/s", ActorPingPong);
  registry.Add("actor_counting", "Mmsg/s",
               [] { return Counting({.worker_threads = kWorkerThreads}); });
  registry.Add("actor_fan_in", "Mmsg/s", ActorFanIn);
  registry.Add("actor_ring", "Mhop/s", ActorRing);
  registry.Add("actor_create", "kactor/s", ActorCreate);
  registry.Add("actor_ask_latency", "ns",
               [] { return ActorAskLatency(true, "actor_ask_latency"); });
  registry.Add("actor_memory", "B/actor", ActorMemory);
  registry.Add("st_ask_rate", "Mreq/s", [] { return StAskRate(true); });
  registry.Add("st_ask_rate_mailbox", "Mreq/s",
               [] { return StAskRate(false); });
  registry.Add("actor_ask_latency_mailbox", "ns", [] {
    return ActorAskLatency(false, "actor_ask_latency_mailbox");
  });
  registry.Add("st_tell_rate", "Mmsg/s",
               [] { return Counting({.flavor = Flavor::kCurrentThread}); });
}

}  // namespace troupe::bench
