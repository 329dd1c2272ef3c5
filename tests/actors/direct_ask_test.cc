// Direct asks (ActorCell::TryAskDirect): an ask to an idle actor whose
// handler is synchronous runs that handler on the asking task's thread.
// What must not change with it: the answer, the failure and stop paths,
// ordering behind queued mail, exclusive state under concurrent asks and
// tells (run under TSan), and the option that turns it off.
//
// A handler tells where it ran by answering CurrentTask(): the asking
// task's own header when the ask was direct, the actor's runner otherwise.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "executor/join_handle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"

namespace troupe::test {
namespace {

struct Where {};  // answers the task the handler runs on
struct Throw {};  // throws
struct StopSelf {};
struct AbortSelf {};
struct AddTold {
  int64_t by = 1;
};
struct AddAsked {
  int64_t by = 1;
};
struct Total {};
// Its handler spins (blocking its worker) until `*release` is true.
struct Spin {
  std::atomic<bool>* release;
};

class Probe : public Actor<Probe> {
 public:
  uintptr_t Handle(Where /*unused*/) {
    return reinterpret_cast<uintptr_t>(CurrentTask());
  }
  int Handle(Throw /*unused*/) { throw std::runtime_error("probe threw"); }
  int Handle(StopSelf /*unused*/) {
    Stop();
    return 1;
  }
  int Handle(AbortSelf /*unused*/) {
    Self().cell()->AbortRunner();
    return 2;
  }
  // Plain, unsynchronised state: only exclusive turns keep it right.
  void Handle(AddTold m) { total_ += m.by; }
  int64_t Handle(AddAsked m) { return total_ += m.by; }
  int64_t Handle(Total /*unused*/) const { return total_; }
  void Handle(Spin m) {
    while (!m.release->load(std::memory_order_acquire)) {
      std::this_thread::yield();
    }
  }

 private:
  int64_t total_ = 0;
};

uintptr_t Me() { return reinterpret_cast<uintptr_t>(CurrentTask()); }

// On the current-thread runtime the order of runs is fixed: an actor
// spawned before the test's body has run and parked on its empty mailbox
// by the time the body asks.
class DirectAskTest : public ::testing::Test {
 protected:
  DirectAskTest() : env_({.flavor = Flavor::kCurrentThread}) {}
  ActorTestEnv env_;
};

TEST_F(DirectAskTest, AnAskToAnIdleActorRunsTheHandlerOnTheAskingTask) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<std::vector<bool>> {
    std::vector<bool> direct;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<uintptr_t> where = co_await p.Ask(Where{});
      direct.push_back(where.ok() && *where == Me());
    }
    co_return direct;
  };
  EXPECT_EQ(env_.Run(body(probe)), (std::vector<bool>{true, true, true}));
  // Direct turns count as handled messages, and never enter the mailbox.
  EXPECT_EQ(probe.cell()->Stats().messages_handled, 3u);
  EXPECT_EQ(probe.cell()->MailboxHighWater(), 0u);
}

TEST_F(DirectAskTest, WithDirectAsksOffEveryAskRunsOnTheActorsRunner) {
  ActorSystemOptions options = env_.Options();
  options.direct_asks = false;
  ActorRef<Probe> probe = env_.StartSystem(options).Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<int> {
    int direct = 0;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<uintptr_t> where = co_await p.Ask(Where{});
      direct += where.ok() && *where == Me() ? 1 : 0;
    }
    co_return direct;
  };
  EXPECT_EQ(env_.Run(body(probe)), 0);
  EXPECT_EQ(probe.cell()->MailboxHighWater(), 1u);
}

TEST_F(DirectAskTest, AnAskBehindQueuedMailGoesThroughTheMailboxAndSeesIt) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<std::pair<int64_t, bool>> {
    (void)co_await p.Ask(Total{});  // started and parked
    EXPECT_TRUE(p.TrySend(AddTold{5}).ok());
    absl::StatusOr<int64_t> total = co_await p.Ask(AddAsked{1});
    absl::StatusOr<uintptr_t> where = co_await p.Ask(Where{});
    co_return std::pair<int64_t, bool>(total.value_or(-1),
                                       where.ok() && *where == Me());
  };
  // The tell was queued (and the runner woken) first: the ask waits its
  // turn behind it; the next one, to an idle actor again, is direct.
  EXPECT_EQ(env_.Run(body(probe)), (std::pair<int64_t, bool>(6, true)));
}

TEST_F(DirectAskTest, ADirectAskWhoseHandlerThrowsFailsAndTheActorRestarts) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<std::vector<absl::Status>> {
    (void)co_await p.Ask(AddAsked{4});
    absl::StatusOr<int> thrown = co_await p.Ask(Throw{});
    const bool all_direct = p.cell()->MailboxHighWater() == 0;
    // The restart (the supervisor's decision, on the control lane) comes
    // before this ask - queued, as the runner has work: a fresh instance
    // answers it.
    absl::StatusOr<int64_t> total = co_await p.Ask(Total{});
    co_return std::vector<absl::Status>{
        thrown.status(),
        total.ok() && *total == 0
            ? absl::OkStatus()
            : absl::InternalError("the old state survived"),
        all_direct ? absl::OkStatus()
                   : absl::InternalError("the failing ask was queued")};
  };
  const std::vector<absl::Status> s = env_.Run(body(probe));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(IsHandlerFailed(s[0])) << s[0];
  EXPECT_THAT(std::string(s[0].message()), ::testing::HasSubstr("probe threw"));
  EXPECT_TRUE(s[1].ok()) << s[1];
  EXPECT_TRUE(s[2].ok()) << s[2];
  EXPECT_EQ(probe.cell()->Stats().restarts, 1u);
}

TEST_F(DirectAskTest, ADirectAskWhoseHandlerStopsTheActorAnswersThenItStops) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<std::vector<absl::Status>> {
    (void)co_await p.Ask(Total{});
    absl::StatusOr<int> stopping = co_await p.Ask(StopSelf{});
    co_await AwaitTermination(p.cell());
    absl::StatusOr<int64_t> after = co_await p.Ask(Total{});
    co_return std::vector<absl::Status>{stopping.ok() && *stopping == 1
                                            ? absl::OkStatus()
                                            : absl::InternalError("no answer"),
                                        after.status()};
  };
  const std::vector<absl::Status> s = env_.Run(body(probe));
  EXPECT_TRUE(s[0].ok()) << s[0];
  EXPECT_TRUE(IsMailboxClosed(s[1])) << s[1];
  EXPECT_TRUE(probe.cell()->termination_reason().ok());
  EXPECT_EQ(probe.cell()->MailboxHighWater(), 0u);
}

// Stop() refuses new messages at once, on the direct path as on the
// runner: a tell right after the answer is refused, not queued.
TEST_F(DirectAskTest, ATellRightAfterADirectAskThatStoppedTheActorIsRefused) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<absl::Status> {
    (void)co_await p.Ask(Total{});
    (void)co_await p.Ask(StopSelf{});
    co_return p.TrySend(AddTold{1});
  };
  const absl::Status s = env_.Run(body(probe));
  EXPECT_TRUE(IsMailboxClosed(s)) << s;
  EXPECT_EQ(probe.cell()->MailboxHighWater(), 0u);
}

// Shutdown's first step closes mailboxes without waking the runners: a
// parked actor whose mailbox is closed takes no direct ask either.
TEST_F(DirectAskTest, AnAskToAParkedActorWhoseMailboxIsClosedFails) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<absl::Status> {
    (void)co_await p.Ask(Total{});
    p.cell()->CloseMailbox();
    absl::StatusOr<int64_t> total = co_await p.Ask(Total{});
    co_return total.status();
  };
  const absl::Status s = env_.Run(body(probe));
  EXPECT_TRUE(IsMailboxClosed(s)) << s;
}

// A child's failure waits for its parent's decision (on the parent's
// runner): the direct ask fails, the child parks until the decision
// comes, and the restarted child answers the next ask. The parent's
// SpawnCounter handler, asked directly too, spawns the child from the
// asking task.
TEST_F(DirectAskTest, AChildFailingInADirectAskIsRestartedByItsParent) {
  ActorRef<Supervisor<RestartPolicy>> parent =
      env_.system().Spawn<Supervisor<RestartPolicy>>(NewLog());
  auto body = [](ActorRef<Supervisor<RestartPolicy>> sup)
      -> Task<std::vector<absl::Status>> {
    std::vector<absl::Status> out;
    absl::StatusOr<ActorRef<Counter>> child =
        co_await sup.Ask(SpawnCounter("child"));
    if (!child.ok()) co_return std::vector<absl::Status>{child.status()};
    ActorRef<Counter> c = *child;
    (void)co_await c.Ask(Increment{3});
    absl::StatusOr<int> boom = co_await c.Ask(Boom{});
    out.push_back(boom.status());
    absl::StatusOr<int> after = co_await c.Ask(Get{});
    out.push_back(after.ok() && *after == 0
                      ? absl::OkStatus()
                      : absl::InternalError("not restarted"));
    out.push_back(c.cell()->Stats().restarts == 1
                      ? absl::OkStatus()
                      : absl::InternalError("restarts != 1"));
    co_return out;
  };
  const std::vector<absl::Status> s = env_.Run(body(parent));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(IsHandlerFailed(s[0])) << s[0];
  EXPECT_TRUE(s[1].ok()) << s[1];
  EXPECT_TRUE(s[2].ok()) << s[2];
}

TEST_F(DirectAskTest, ARunnerAbortedDuringADirectAskIsTornDownAfterIt) {
  ActorRef<Probe> probe = env_.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<absl::StatusOr<int>> {
    (void)co_await p.Ask(Total{});
    absl::StatusOr<int> r = co_await p.Ask(AbortSelf{});
    co_await AwaitTermination(p.cell());
    co_return r;
  };
  const absl::StatusOr<int> r = env_.Run(body(probe));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 2);
  EXPECT_FALSE(probe.cell()->termination_reason().ok());
  EXPECT_EQ(probe.cell()->MailboxHighWater(), 0u);
}

// Two tells in a row open a stage (channels/send_stage.h): the next tells
// wait in this thread's chain until its run ends - or until it sends the
// actor anything else, a direct ask included. Here the runner is free to
// park meanwhile: it runs on the other worker, handles what was
// published, and parks on a mailbox that looks empty. The ask must come
// after the staged tells (without publishing them first it answered 2).
TEST(DirectAskMultiThreadTest,
     AnAskAfterStagedTellsWaitsForThemWithTheRunnerParked) {
  ActorTestEnv env({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  ActorRef<Probe> probe = env.system().Spawn<Probe>();
  auto body = [](ActorRef<Probe> p) -> Task<int64_t> {
    std::atomic<bool> release{false};
    (void)co_await p.Send(Spin{&release});
    // Until the runner spins on a worker; this task goes on on the other.
    co_await YieldUntil([&] { return p.cell()->current_message() != nullptr; });
    // The first tell is pushed, the second reserves a stage, the rest are
    // staged (the runner, busy, is not woken by any of them).
    for (int i = 0; i < 10; ++i) (void)co_await p.Send(AddTold{1});
    release.store(true, std::memory_order_release);
    // Spin + the two published tells handled; then let the runner park.
    for (int i = 0; i < 5000 && p.cell()->Stats().messages_handled < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    absl::StatusOr<int64_t> total = co_await p.Ask(AddAsked{0});
    co_return total.value_or(-1);
  };
  EXPECT_EQ(env.Run(body(probe)), 10);
}

// Askers and tellers on a multi-thread runtime race the runner for the
// actor: direct turns, runner turns and wake-ups interleave. No update is
// lost, each sender's tells are in before its own later ask, and TSan sees
// every turn ordered after the one before.
TEST(DirectAskStressTest, ConcurrentAsksAndTellsNeverShareTheState) {
  ActorTestEnv env({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  ActorRef<Probe> probe = env.system().Spawn<Probe>();
  constexpr int kSenders = 4;
  constexpr int kRounds = 5000;
  auto sender = [](ActorRef<Probe> p) -> Task<int> {
    int direct = 0;
    int64_t mine = 0;
    for (int i = 0; i < kRounds; ++i) {
      (void)co_await p.Send(AddTold{1});
      absl::StatusOr<int64_t> total = co_await p.Ask(AddAsked{1});
      mine += 2;
      if (!total.ok() || *total < mine) co_return -1;  // lost or reordered
      absl::StatusOr<uintptr_t> where = co_await p.Ask(Where{});
      if (where.ok() && *where == Me()) ++direct;
    }
    co_return direct;
  };
  auto body = [&](ActorRef<Probe> p) -> Task<std::pair<int, int64_t>> {
    std::vector<JoinHandle<int>> senders;
    senders.reserve(kSenders);
    for (int i = 0; i < kSenders; ++i) senders.push_back(Spawn(sender(p)));
    int direct = 0;
    bool ok = true;
    for (auto& s : senders) {
      const int d = co_await s;
      ok = ok && d >= 0;
      direct += d < 0 ? 0 : d;
    }
    absl::StatusOr<int64_t> total = co_await p.Ask(Total{});
    co_return std::pair<int, int64_t>(ok ? direct : -1, total.value_or(-1));
  };
  const auto [direct, total] = env.Run(body(probe));
  EXPECT_GE(direct, 0) << "a sender saw a total without its own updates";
  EXPECT_GT(direct, 0) << "no ask was direct: the race was not exercised";
  EXPECT_EQ(total, int64_t{2} * kSenders * kRounds);
  ::testing::Test::RecordProperty("direct_asks", direct);
  std::printf("direct asks: %d of %d\n", direct, kSenders * kRounds);
}

}  // namespace
}  // namespace troupe::test
