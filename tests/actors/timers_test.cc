// Actor timers: SendAfter(d, m) delivers m once after d, SendInterval(p, m)
// every p; CancelTimer cancels one; stopping or restarting the actor
// cancels them all.
// All on the manual clock: the tests never sleep.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"

namespace troupe::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Tick {
  int id;
};
struct After {
  Duration delay;
  int id;
};
struct Every {
  Duration period;
  int id;
};
struct Cancel {
  TimerId timer;
};
struct StopSelf {};
struct Fail {};

// Arms timers on request; logs "<id>@<ms since start>" for every tick.
class Ticker : public Actor<Ticker> {
 public:
  Ticker(std::shared_ptr<EventLog> log, Instant start)
      : log_(std::move(log)), start_(start) {}

  TimerId Handle(After a) { return SendAfter(a.delay, Tick{a.id}); }
  TimerId Handle(Every e) { return SendInterval(e.period, Tick{e.id}); }
  void Handle(Cancel c) { CancelTimer(c.timer); }
  void Handle(StopSelf /*unused*/) { Stop(); }
  void Handle(Fail /*unused*/) { throw std::runtime_error("ticker failed"); }
  void Handle(Tick t) {
    const auto ms = std::chrono::duration_cast<milliseconds>(
        system().clock().Now() - start_);
    log_->Add(absl::StrCat(t.id, "@", ms.count()));
  }

 private:
  std::shared_ptr<EventLog> log_;
  Instant start_;
};

class TimersTest : public ManualTimeTest {
 protected:
  ActorRef<Ticker> SpawnTicker() {
    return env_.system().Spawn<Ticker>(ticks_, start_);
  }
  std::shared_ptr<EventLog> ticks_ = NewLog();
};

// Arms a timer, waiting for the actor to have done it.
template <typename M>
Task<TimerId> Arm(ActorRef<Ticker> t, M m) {
  absl::StatusOr<TimerId> id = co_await t.Ask(m);
  EXPECT_TRUE(id.ok()) << id.status();
  co_return id.value_or(0);
}

TEST_F(TimersTest, SendAfterDeliversOnceWhenTheDelayHasPassed) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [this](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, After{seconds(5), 1});
    co_await Sleep(milliseconds(4999));
    EXPECT_THAT(ticks_->Lines(), IsEmpty()) << "fired early";
    co_await Sleep(seconds(60));
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("1@5000"));
}

TEST_F(TimersTest, SendAfterTimersFireInDeadlineOrder) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, After{seconds(3), 1});
    (void)co_await Arm(t, After{seconds(1), 2});
    (void)co_await Arm(t, After{seconds(2), 3});
    co_await Sleep(seconds(10));
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("2@1000", "3@2000", "1@3000"));
}

TEST_F(TimersTest, SendIntervalDeliversEveryPeriodStartingOnePeriodIn) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, Every{seconds(1), 7});
    co_await Sleep(milliseconds(3500));
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("7@1000", "7@2000", "7@3000"));
}

TEST_F(TimersTest, CancelTimerCancelsThatTimerOnly) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [](ActorRef<Ticker> t) -> Task<void> {
    const TimerId once = co_await Arm(t, After{seconds(2), 1});
    const TimerId every = co_await Arm(t, Every{seconds(1), 2});
    (void)co_await Arm(t, After{seconds(3), 3});
    (void)co_await t.Ask(Cancel{once});
    co_await Sleep(milliseconds(2500));
    (void)co_await t.Ask(Cancel{every});
    co_await Sleep(seconds(10));
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("2@1000", "2@2000", "3@3000"));
  EXPECT_EQ(PendingTimers(), 0);
}

TEST_F(TimersTest, StoppingTheActorCancelsItsTimers) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [this](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, After{seconds(5), 1});
    (void)co_await Arm(t, Every{seconds(1), 2});
    co_await Sleep(milliseconds(2500));
    RequestStop(t);
    co_await AwaitTermination(t.cell());
    co_await Sleep(seconds(10));
    EXPECT_EQ(PendingTimers(), 0) << "a timer outlived its actor";
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("2@1000", "2@2000"));
}

TEST_F(TimersTest, AnActorThatStopsItselfCancelsItsTimersToo) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [this](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, Every{seconds(1), 1});
    (void)co_await Arm(t, After{seconds(30), 2});
    co_await Sleep(milliseconds(1500));
    (void)co_await t.Send(StopSelf{});
    co_await AwaitTermination(t.cell());
    co_await Sleep(seconds(60));
    EXPECT_EQ(PendingTimers(), 0);
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("1@1000"));
}

// The fresh instance of a restarted actor starts without the old one's
// timers (its state is new: ticks meant for the old one would be stale).
TEST_F(TimersTest, ARestartCancelsTheTimersTheOldInstanceArmed) {
  ActorRef<Ticker> t = SpawnTicker();
  auto body = [this](ActorRef<Ticker> t) -> Task<void> {
    (void)co_await Arm(t, Every{seconds(1), 1});
    (void)co_await Arm(t, After{seconds(30), 2});
    co_await Sleep(milliseconds(1500));
    (void)co_await t.Send(Fail{});
    // Handled by the fresh instance, after the restart.
    (void)co_await Arm(t, After{seconds(1), 3});
    co_await Sleep(seconds(60));
    EXPECT_EQ(PendingTimers(), 0);
  };
  env_.Run(body(t));
  EXPECT_THAT(ticks_->Lines(), ElementsAre("1@1000", "3@2500"));
  EXPECT_EQ(t.cell()->Stats().restarts, 1u);
}

}  // namespace
}  // namespace troupe::test
