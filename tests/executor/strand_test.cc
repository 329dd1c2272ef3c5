// Strands (executor/strand.h): members of one strand never run at the same
// time, on either runtime flavour, whoever wakes them; tasks outside the
// strand are not held back by it; an aborted member does not block the
// others. Run under --config=tsan: the members' shared counter is a plain
// int, so any overlap is a reported data race as well as a failed check.

#include "executor/strand.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "channels/oneshot.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

template <typename F>
class StrandTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(StrandTest, RuntimeFlavours);

// What the members share: a plain counter and an "inside" flag that a
// second member running at the same time would find set.
struct Shared {
  int counter = 0;
  std::atomic<bool> inside{false};
  std::atomic<int> overlaps{0};
};

Task<void> Member(Shared* shared, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    if (shared->inside.exchange(true, std::memory_order_acq_rel)) {
      shared->overlaps.fetch_add(1, std::memory_order_relaxed);
    }
    // A slice long enough (tens of microseconds) for the other worker to
    // steal and start a member meanwhile, were the strand not there.
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(30);
    while (std::chrono::steady_clock::now() < until) {
    }
    for (int k = 0; k < 50; ++k) ++shared->counter;
    shared->inside.store(false, std::memory_order_release);
    co_await YieldNow();
  }
}

TYPED_TEST(StrandTest, MembersOfOneStrandNeverRunAtTheSameTime) {
  constexpr int kMembers = 8;
  constexpr int kRounds = 300;
  StrandRef strand = Strand::Make();
  Shared shared;
  this->runtime_.BlockOn([](Strand* strand, Shared* shared) -> Task<void> {
    std::vector<JoinHandle<void>> members;
    for (int m = 0; m < kMembers; ++m) {
      members.push_back(SpawnOnStrand(*strand, Member(shared, kRounds)));
    }
    for (JoinHandle<void>& h : members) co_await h;
  }(strand.get(), &shared));
  EXPECT_EQ(shared.overlaps.load(), 0);
  EXPECT_EQ(shared.counter, kMembers * kRounds * 50);
}

// Members woken from plain threads (not from inside the strand) still take
// turns, and none is lost while it waits for the strand.
TYPED_TEST(StrandTest, MembersWokenFromOtherThreadsTakeTurnsAndAllFinish) {
  constexpr int kMembers = 16;
  StrandRef strand = Strand::Make();
  Shared shared;
  std::vector<OneshotSender<int>> senders;
  std::vector<OneshotReceiver<int>> receivers;
  for (int m = 0; m < kMembers; ++m) {
    auto [tx, rx] = MakeOneshot<int>();
    senders.push_back(std::move(tx));
    receivers.push_back(std::move(rx));
  }
  auto member = [](Shared* shared, OneshotReceiver<int> rx) -> Task<int> {
    absl::StatusOr<int> v = co_await std::move(rx);
    if (shared->inside.exchange(true, std::memory_order_acq_rel)) {
      shared->overlaps.fetch_add(1, std::memory_order_relaxed);
    }
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(30);
    while (std::chrono::steady_clock::now() < until) {
    }
    for (int k = 0; k < 1000; ++k) ++shared->counter;
    shared->inside.store(false, std::memory_order_release);
    co_return v.value_or(-1);
  };
  std::vector<JoinHandle<int>> members;
  for (int m = 0; m < kMembers; ++m) {
    members.push_back(
        this->runtime_.Spawn([](Strand* strand, Task<int> t) -> Task<int> {
          co_return co_await SpawnOnStrand(*strand, std::move(t));
        }(strand.get(), member(&shared, std::move(receivers[m])))));
  }
  std::thread waker([&senders] {
    for (std::size_t m = 0; m < senders.size(); ++m) {
      (void)senders[m].Send(static_cast<int>(m));
    }
  });
  const int sum = this->runtime_.BlockOn(
      [](std::vector<JoinHandle<int>>* members) -> Task<int> {
        int total = 0;
        for (JoinHandle<int>& h : *members) total += co_await h;
        co_return total;
      }(&members));
  waker.join();
  EXPECT_EQ(sum, kMembers * (kMembers - 1) / 2);
  EXPECT_EQ(shared.overlaps.load(), 0);
  EXPECT_EQ(shared.counter, kMembers * 1000);
}

// The member owns the strand's only outside reference and drops it while
// it runs (an actor's turn holds its cell, which holds the strand): the
// worker's own reference keeps the strand alive until the run is over
// (ASan would report the use after free otherwise).
TYPED_TEST(StrandTest, AMemberMayDropTheLastOutsideReferenceWhileItRuns) {
  this->runtime_.BlockOn([]() -> Task<void> {
    for (int i = 0; i < 50; ++i) {
      StrandRef strand = Strand::Make();
      Strand* raw = strand.get();
      JoinHandle<void> member =
          SpawnOnStrand(*raw, [](StrandRef owned) -> Task<void> {
            co_await YieldNow();
            owned.Reset();
          }(std::move(strand)));
      co_await member;
    }
  }());
}

// A task outside the strand runs while a member runs: the member spins
// until the outsider flips a flag. Were the strand to hold back other
// tasks, this would never finish.
TEST(Strand, TasksOutsideTheStrandRunWhileAMemberRuns) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  StrandRef strand = Strand::Make();
  std::atomic<bool> flag{false};
  runtime.BlockOn([](Strand* strand, std::atomic<bool>* flag) -> Task<void> {
    JoinHandle<void> member =
        SpawnOnStrand(*strand, [](std::atomic<bool>* flag) -> Task<void> {
          while (!flag->load(std::memory_order_acquire)) {
            std::this_thread::yield();
          }
          co_return;
        }(flag));
    JoinHandle<void> outsider =
        Spawn([](std::atomic<bool>* flag) -> Task<void> {
          flag->store(true, std::memory_order_release);
          co_return;
        }(flag));
    co_await outsider;
    co_await member;
  }(strand.get(), &flag));
  EXPECT_TRUE(flag.load());
}

// An aborted member - running, or waiting for the strand - gives the
// strand up: the others all finish.
TYPED_TEST(StrandTest, AnAbortedMemberDoesNotBlockTheOthers) {
  StrandRef strand = Strand::Make();
  Shared shared;
  this->runtime_.BlockOn([](Strand* strand, Shared* shared) -> Task<void> {
    std::vector<JoinHandle<void>> members;
    for (int m = 0; m < 6; ++m) {
      members.push_back(SpawnOnStrand(*strand, Member(shared, 200)));
    }
    co_await YieldNow();
    members[0].Abort();
    members[3].Abort();
    int cancelled = 0;
    for (JoinHandle<void>& h : members) {
      try {
        co_await h;
      } catch (const CancelledError&) {
        ++cancelled;
      }
    }
    EXPECT_LE(cancelled, 2);
  }(strand.get(), &shared));
  EXPECT_EQ(shared.overlaps.load(), 0);
  EXPECT_GE(shared.counter, 4 * 200 * 50);
}

}  // namespace
}  // namespace troupe::test
