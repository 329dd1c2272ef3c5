// The control lane: stop requests, death-watch notices and timer messages
// travel outside the bounded mailbox, so a full mailbox - even one whose
// senders are all blocked - never holds them up, and they are handled
// ahead of the mail already queued.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;

// Sends Increment{by} once `started` has been counted; returns the
// status of the send.
Task<absl::Status> BlockedSend(ActorRef<Counter> c, int by,
                               std::atomic<int>* started) {
  started->fetch_add(1);
  co_return co_await c.Send(Increment{by});
}

struct FullMailboxOutcome {
  std::vector<absl::Status> blocked;
  absl::Status try_send_when_full;
  absl::Status try_send_after;
};

// A counter with a mailbox of 4: one gated message being handled, three
// queued behind it, three more senders blocked. Then a stop request, and
// only then is the gate opened.
Task<FullMailboxOutcome> StopWithAFullMailbox(ActorRef<Counter> c) {
  FullMailboxOutcome out;
  CancellationToken gate;
  WaitFor wait(gate);
  (void)co_await c.Send(std::move(wait));
  co_await YieldUntil([&] { return c.cell()->current_message() != nullptr; });
  for (int i = 0; i < 3; ++i) (void)co_await c.Send(Increment{1});
  out.try_send_when_full = c.TrySend(Increment{1});
  std::atomic<int> started{0};
  std::vector<JoinHandle<absl::Status>> blocked;
  blocked.reserve(3);
  for (int i = 0; i < 3; ++i) {
    blocked.push_back(Spawn(BlockedSend(c, 100, &started)));
  }
  co_await YieldUntil([&] { return started.load() == 3; });
  EXPECT_EQ(c.MailboxDepth(), 4u);
  RequestStop(c);  // must not wait for mailbox space
  EXPECT_FALSE(c.cell()->IsTerminated());
  gate.Cancel();
  co_await AwaitTermination(c.cell());
  for (auto& h : blocked) out.blocked.push_back(co_await h);
  out.try_send_after = c.TrySend(Increment{1});
  co_return out;
}

template <typename F>
using ControlLaneTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(ControlLaneTest, RuntimeFlavours);

TYPED_TEST(ControlLaneTest,
           AStopReachesAnActorWhoseMailboxIsFullAndWhoseSendersAreBlocked) {
  auto log = NewLog();
  ActorRef<Counter> c = this->env_.system().template SpawnNamed<Counter>(
      SpawnOptions{.name = "full", .mailbox_capacity = 4}, log);
  const FullMailboxOutcome out = this->env_.Run(StopWithAFullMailbox(c));
  EXPECT_EQ(out.try_send_when_full.code(), absl::StatusCode::kResourceExhausted)
      << out.try_send_when_full;
  EXPECT_TRUE(IsMailboxClosed(out.try_send_after)) << out.try_send_after;
  // The stop is applied as soon as the gated handler ends: at most the
  // one slot that handler frees can go to a blocked sender first; the
  // others are refused rather than left waiting.
  int admitted = 0;
  for (const absl::Status& s : out.blocked) {
    if (s.ok()) {
      ++admitted;
    } else {
      EXPECT_TRUE(IsMailboxClosed(s)) << s;
    }
  }
  EXPECT_LE(admitted, 1);
  // What was queued was still handled (a stop drains the mailbox).
  EXPECT_EQ(log->IndexOf(absl::StrCat("full stop count=", 3 + 100 * admitted)),
            1)
      << ::testing::PrintToString(log->Lines());
}

// ---- notices and timers overtaking a full mailbox (manual clock) ----

struct WatchRef {
  explicit WatchRef(ActorRef<Counter> r) : ref(std::move(r)) {}
  ActorRef<Counter> ref;
};
struct Ping {};
struct ArmPing {
  Duration after;
};

// Naps on request (its mailbox fills up meanwhile) and logs what it
// handles.
class Sleeper : public Actor<Sleeper> {
 public:
  explicit Sleeper(std::shared_ptr<EventLog> log) : log_(std::move(log)) {}
  Task<void> Handle(Nap n) { co_await SleepFor(n.d); }
  void Handle(Increment m) { log_->Add(absl::StrCat("increment ", m.by)); }
  void Handle(Ping /*unused*/) { log_->Add("ping"); }
  void Handle(ArmPing a) { (void)SendAfter(a.after, Ping{}); }
  void Handle(const WatchRef& w) { Watch(w.ref); }
  void Handle(const Terminated& t) { log_->Add("terminated " + t.name); }
  int Handle(Get /*unused*/) const { return 0; }

 private:
  std::shared_ptr<EventLog> log_;
};

class FullMailboxTest : public ManualTimeTest {
 protected:
  ActorRef<Sleeper> SpawnSleeper() {
    return env_.system().SpawnNamed<Sleeper>(
        SpawnOptions{.name = "sleeper", .mailbox_capacity = 3}, log_);
  }
  std::shared_ptr<EventLog> log_ = NewLog();
};

// Naps 5 s with the mailbox full behind the nap and one more sender
// blocked; `meanwhile` runs at the start of the nap. Waits until all of it
// has been handled.
template <typename F>
Task<void> NapWithAFullMailbox(ActorRef<Sleeper> s, F meanwhile) {
  (void)co_await s.Send(Nap{seconds(5)});
  co_await YieldUntil([&] { return s.cell()->current_message() != nullptr; });
  (void)co_await s.Send(Increment{1});
  (void)co_await s.Send(Increment{2});
  std::atomic<int> started{0};
  auto blocked = [](ActorRef<Sleeper> s,
                    std::atomic<int>* started) -> Task<absl::Status> {
    started->fetch_add(1);
    co_return co_await s.Send(Increment{3});
  };
  JoinHandle<absl::Status> third = Spawn(blocked(s, &started));
  co_await YieldUntil([&] { return started.load() == 1; });
  EXPECT_EQ(s.MailboxDepth(), 3u);
  co_await meanwhile();
  absl::Status sent = co_await third;
  EXPECT_TRUE(sent.ok()) << sent;
  absl::StatusOr<int> last = co_await s.Ask(Get{});
  EXPECT_TRUE(last.ok()) << last.status();
}

TEST_F(FullMailboxTest, ATerminatedNoticeOvertakesAFullMailbox) {
  ActorRef<Sleeper> s = SpawnSleeper();
  ActorRef<Counter> c =
      env_.system().SpawnNamed<Counter>(SpawnOptions{.name = "watched"});
  auto body = [](ActorRef<Sleeper> s, ActorRef<Counter> c) -> Task<void> {
    WatchRef watch(c);
    absl::Status watching = co_await s.Ask(std::move(watch));
    EXPECT_TRUE(watching.ok()) << watching;
    // Built outside the co_await: g++ 12 destroys the captures of a
    // closure temporary inside a co_await expression twice.
    auto stop_watched = [c]() -> Task<void> {
      RequestStop(c);
      co_await AwaitTermination(c.cell());
    };
    Task<void> nap = NapWithAFullMailbox(s, std::move(stop_watched));
    co_await std::move(nap);
  };
  env_.Run(body(s, c));
  EXPECT_THAT(log_->Lines(), ElementsAre("terminated watched", "increment 1",
                                         "increment 2", "increment 3"));
}

TEST_F(FullMailboxTest, ATimerMessageOvertakesAFullMailbox) {
  ActorRef<Sleeper> s = SpawnSleeper();
  auto body = [](ActorRef<Sleeper> s) -> Task<void> {
    absl::Status armed = co_await s.Ask(ArmPing{seconds(1)});
    EXPECT_TRUE(armed.ok()) << armed;
    co_await NapWithAFullMailbox(s, []() -> Task<void> { co_return; });
  };
  env_.Run(body(s));
  EXPECT_THAT(log_->Lines(),
              ElementsAre("ping", "increment 1", "increment 2", "increment 3"));
}

}  // namespace
}  // namespace troupe::test
