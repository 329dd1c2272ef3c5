// The deterministic test mode: a current-thread runtime on a manual clock
// with auto-advance; Settle() delivers everything pending, SleepFor moves
// virtual time. Nothing here sleeps for real.

#include <chrono>
#include <vector>

#include "actors/actor.h"
#include "executor/clock.h"
#include "executor/runtime.h"
#include "executor/settle.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Add {
  int by = 1;
};
struct Tick {};
struct StartTicking {};
struct Snapshot {};

class Clockwork : public Actor<Clockwork> {
 public:
  void Handle(Add m) { total_ += m.by; }
  void Handle(StartTicking) { SendInterval(seconds(1), Tick{}); }
  void Handle(Tick) { ++ticks_; }
  std::vector<int> Handle(Snapshot) { return {total_, ticks_}; }

 private:
  int total_ = 0;
  int ticks_ = 0;
};

class DeterministicTest : public ::testing::Test {
 protected:
  DeterministicTest()
      : runtime_({.flavor = Flavor::kCurrentThread,
                  .clock = &clock_,
                  .auto_advance = true}),
        system_(runtime_, {.watchdog = false}) {}
  ~DeterministicTest() override {
    system_.BlockingShutdown(std::chrono::seconds(5));
  }
  ManualClock clock_;
  Runtime runtime_;
  ActorSystem system_;
};

TEST_F(DeterministicTest, SettleDeliversEveryToldMessageBeforeTheTestLooks) {
  ActorRef<Clockwork> actor = system_.Spawn<Clockwork>();
  runtime_.BlockOn([](ActorRef<Clockwork> actor) -> Task<void> {
    for (int i = 1; i <= 10; ++i) {
      EXPECT_TRUE(actor.TrySend(Add{i}).ok());
    }
    co_await Settle();
    // Look at the state in the actor's own turn.
    auto seen = co_await actor.RunOnActor(
        [](Clockwork& c) { return c.Handle(Snapshot{}); });
    EXPECT_TRUE(seen.ok());
    EXPECT_EQ(*seen, (std::vector<int>{55, 0}));
  }(actor));
}

TEST_F(DeterministicTest, IntervalTimersFireOncePerVirtualSecond) {
  ActorRef<Clockwork> actor = system_.Spawn<Clockwork>();
  const Instant start = clock_.Now();
  runtime_.BlockOn([](ActorRef<Clockwork> actor) -> Task<void> {
    EXPECT_TRUE(actor.TrySend(StartTicking{}).ok());
    co_await Settle();
    co_await SleepFor(milliseconds(3500));
    co_await Settle();
    absl::StatusOr<std::vector<int>> s = co_await actor.Ask(Snapshot{});
    EXPECT_TRUE(s.ok());
    EXPECT_EQ((*s)[1], 3);
  }(actor));
  // 3.5 virtual seconds passed, in no real time to speak of.
  EXPECT_EQ(clock_.Now() - start, milliseconds(3500));
}

}  // namespace
}  // namespace troupe
