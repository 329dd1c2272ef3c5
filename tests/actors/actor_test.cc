// Tests of the actor layer: messaging, exclusive state, asks, lifecycle.

#include "actors/actor.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "channels/oneshot.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

struct Increment {
  int by = 1;
};
struct Get {};
struct Boom {};
struct SlowAdd {
  int by;
};

class Counter : public Actor<Counter> {
 public:
  void Handle(Increment m) { count_ += m.by; }
  int Handle(Get) { return count_; }
  int Handle(Boom) { throw std::runtime_error("boom"); }
  // An async handler: awaits, and must keep exclusive access meanwhile.
  Task<int> Handle(SlowAdd m) {
    const int before = count_;
    co_await YieldNow();
    co_await SleepFor(std::chrono::milliseconds(1));
    count_ = before + m.by;  // a lost update if anything interleaved
    co_return count_;
  }

 private:
  int count_ = 0;
};

using test::CurrentThread;
using test::MultiThread;

template <typename F>
class ActorTest : public ::testing::Test {
 protected:
  ActorTest() : runtime_(F::Options()), system_(runtime_) {}
  ~ActorTest() override { system_.BlockingShutdown(std::chrono::seconds(5)); }
  Runtime runtime_;
  ActorSystem system_;
};
using Flavours = test::RuntimeFlavours;
TYPED_TEST_SUITE(ActorTest, Flavours);

TYPED_TEST(ActorTest, ACounterCountsTellsAndAnswersAsks) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    for (int i = 0; i < 100; ++i) (void)co_await c.Send(Increment{2});
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.ok() ? *n : -1;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body(counter)), 200);
}

TYPED_TEST(ActorTest, StateIsExclusiveUnderManyConcurrentSenders) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto sender = [](ActorRef<Counter> c) -> Task<void> {
    for (int i = 0; i < 2000; ++i) (void)co_await c.Send(Increment{1});
  };
  auto body = [&](ActorRef<Counter> c) -> Task<int> {
    std::vector<JoinHandle<void>> hs;
    hs.reserve(8);
    for (int s = 0; s < 8; ++s) hs.push_back(Spawn(sender(c)));
    for (auto& h : hs) co_await h;
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.ok() ? *n : -1;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body(counter)), 16000);
}

TYPED_TEST(ActorTest, AnAsyncHandlerKeepsExclusiveAccessAcrossAwaits) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    std::vector<JoinHandle<absl::StatusOr<int>>> hs;
    hs.reserve(20);
    for (int i = 0; i < 20; ++i) hs.push_back(Spawn(c.Ask(SlowAdd{1})));
    for (auto& h : hs) (void)co_await h;
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.ok() ? *n : -1;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body(counter)), 20);
}

TYPED_TEST(ActorTest, AFailingHandlerAnswersItsAskWithHandlerFailed) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    absl::StatusOr<int> r = co_await c.Ask(Boom{});
    co_return r.status();
  };
  absl::Status s = this->runtime_.BlockOn(body(counter));
  EXPECT_TRUE(IsHandlerFailed(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("boom"));
}

TYPED_TEST(ActorTest, ARestartedActorHasFreshStateAndKeepsItsMailbox) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    (void)co_await c.Send(Increment{5});
    (void)co_await c.Send(Boom{});
    (void)co_await c.Send(Increment{1});  // queued behind the failure
    absl::StatusOr<int> n = co_await c.Ask(Get{});
    co_return n.ok() ? *n : -1;
  };
  // The restart discards the 5; the queued increment lands on new state.
  EXPECT_EQ(this->runtime_.BlockOn(body(counter)), 1);
  EXPECT_EQ(counter.cell()->Stats().restarts, 1u);
}

TYPED_TEST(ActorTest, AskWithATimeoutReportsDeadlineExceeded) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    absl::StatusOr<int> r =
        co_await c.Ask(SlowAdd{1}, std::chrono::microseconds(1));
    co_return r.status();
  };
  absl::Status s = this->runtime_.BlockOn(body(counter));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
}

TYPED_TEST(ActorTest, RunOnActorMutatesStateInTheActorsTurn) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  auto body = [](ActorRef<Counter> c) -> Task<int> {
    (void)co_await c.Send(Increment{3});
    absl::StatusOr<int> doubled = co_await c.RunOnActor(
        [](Counter& self) { return self.Handle(Get{}) * 2; });
    co_return doubled.ok() ? *doubled : -1;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body(counter)), 6);
}

TYPED_TEST(ActorTest, AsksToAStoppedActorFailWithMailboxClosed) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  counter.cell()->RequestStop(absl::OkStatus());
  auto body = [](ActorRef<Counter> c) -> Task<absl::Status> {
    co_await c.cell()->Terminated();
    absl::StatusOr<int> r = co_await c.Ask(Get{});
    co_return r.status();
  };
  absl::Status s = this->runtime_.BlockOn(body(counter));
  EXPECT_TRUE(IsMailboxClosed(s)) << s;
}

TYPED_TEST(ActorTest, BlockingVariantsWorkFromAPlainThread) {
  ActorRef<Counter> counter = this->system_.template Spawn<Counter>();
  std::thread t([&] {
    for (int i = 0; i < 10; ++i) (void)counter.BlockingSend(Increment{1});
  });
  t.join();
  absl::StatusOr<int> n = counter.BlockingAsk(this->runtime_, Get{});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10);
}

}  // namespace
}  // namespace troupe

namespace troupe {
namespace {

class Pong;
struct Ball {
  int n;
};
class Ping : public Actor<Ping> {
 public:
  void Handle(ActorRef<Pong> p) { pong_ = std::move(p); }
  Task<void> Handle(Ball b);
  ActorRef<Pong> pong_;
  std::shared_ptr<OneshotSender<int>> done_;
  void Handle(std::shared_ptr<OneshotSender<int>> d) { done_ = std::move(d); }
};
class Pong : public Actor<Pong> {
 public:
  void Handle(ActorRef<Ping> p) { ping_ = std::move(p); }
  Task<void> Handle(Ball b) { (void)co_await ping_.Send(Ball{b.n}); }
  ActorRef<Ping> ping_;
};
Task<void> Ping::Handle(Ball b) {
  if (b.n == 0) {
    (void)done_->Send(1);
    co_return;
  }
  (void)co_await pong_.Send(Ball{b.n - 1});
}

TEST(ActorLifecycle, ActorsThatReferenceEachOtherStopOnRequest) {
  Runtime runtime({.worker_threads = 2});
  ActorSystem system(runtime);
  for (int round = 0; round < 20; ++round) {
    ActorRef<Ping> ping = system.Spawn<Ping>();
    ActorRef<Pong> pong = system.Spawn<Pong>();
    auto body = [](ActorRef<Ping> ping, ActorRef<Pong> pong) -> Task<int> {
      auto [tx, rx] = MakeOneshot<int>();
      (void)co_await ping.Send(pong);
      (void)co_await pong.Send(ping);
      (void)co_await ping.Send(
          std::make_shared<OneshotSender<int>>(std::move(tx)));
      (void)co_await ping.Send(Ball{1000});
      absl::StatusOr<int> r = co_await rx;
      ping.cell()->RequestStop(absl::OkStatus());
      pong.cell()->RequestStop(absl::OkStatus());
      co_await ping.cell()->Terminated();
      co_await pong.cell()->Terminated();
      co_return r.ok() ? *r : -1;
    };
    EXPECT_EQ(runtime.BlockOn(body(ping, pong)), 1);
  }
}

}  // namespace
}  // namespace troupe
