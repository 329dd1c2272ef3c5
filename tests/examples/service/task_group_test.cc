// Tests of examples/service/task_group.h on both runtime flavours: members
// leave however they end, AbortAll, WaitEmpty.

#include "examples/service/task_group.h"

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe::service {
namespace {

using std::chrono::milliseconds;

template <typename F>
class TaskGroupTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(TaskGroupTest, test::RuntimeFlavours);

Task<void> Count(std::atomic<int>* done) {
  co_await SleepFor(milliseconds(1));
  done->fetch_add(1);
}

Task<void> Forever(std::atomic<int>* started) {
  started->fetch_add(1);
  co_await SleepFor(std::chrono::hours(1));
}

Task<void> Throw() {
  co_await SleepFor(milliseconds(1));
  throw std::runtime_error("member failed");
}

TYPED_TEST(TaskGroupTest, WaitEmptyReturnsOnceEveryMemberFinished) {
  std::atomic<int> done{0};
  const size_t left =
      this->runtime_.BlockOn([](std::atomic<int>* done) -> Task<size_t> {
        auto group = TaskGroup::Create();
        for (int i = 0; i < 50; ++i) group->Spawn(Count(done));
        co_await group->WaitEmpty();
        co_return group->size();
      }(&done));
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(done.load(), 50);
}

TYPED_TEST(TaskGroupTest, AnEmptyGroupIsEmptyAtOnce) {
  const size_t size = this->runtime_.BlockOn([]() -> Task<size_t> {
    auto group = TaskGroup::Create();
    co_await group->WaitEmpty();
    co_return group->size();
  }());
  EXPECT_EQ(size, 0u);
}

TYPED_TEST(TaskGroupTest, AbortAllEndsMembersThatWouldRunForever) {
  std::atomic<int> started{0};
  const size_t left =
      this->runtime_.BlockOn([](std::atomic<int>* started) -> Task<size_t> {
        auto group = TaskGroup::Create();
        for (int i = 0; i < 20; ++i) group->Spawn(Forever(started));
        while (started->load() < 20) co_await SleepFor(milliseconds(1));
        group->AbortAll();
        co_await group->WaitEmpty();
        co_return group->size();
      }(&started));
  EXPECT_EQ(left, 0u);
}

TYPED_TEST(TaskGroupTest, MembersAbortedBeforeTheyRanStillLeave) {
  std::atomic<int> started{0};
  this->runtime_.BlockOn([](std::atomic<int>* started) -> Task<void> {
    auto group = TaskGroup::Create();
    for (int i = 0; i < 20; ++i) group->Spawn(Forever(started));
    group->AbortAll();  // most have not been scheduled yet
    co_await group->WaitEmpty();
  }(&started));
  SUCCEED();
}

// Records, when the member's frame goes away, how many members the group
// still counts: the member itself must still be one of them, or a server
// that frees its state once WaitEmpty returns races the member's cleanup.
class SizeAtDestruction {
 public:
  SizeAtDestruction(const TaskGroup* group, std::atomic<int>* seen)
      : group_(group), seen_(seen) {}
  SizeAtDestruction(const SizeAtDestruction&) = delete;
  SizeAtDestruction& operator=(const SizeAtDestruction&) = delete;
  ~SizeAtDestruction() { seen_->store(static_cast<int>(group_->size())); }

 private:
  const TaskGroup* group_;
  std::atomic<int>* seen_;
};

Task<void> ForeverRecording(const TaskGroup* group, std::atomic<int>* started,
                            std::atomic<int>* seen) {
  SizeAtDestruction record(group, seen);
  started->fetch_add(1);
  co_await SleepFor(std::chrono::hours(1));
}

TYPED_TEST(TaskGroupTest, AnAbortedMemberIsDestroyedBeforeItLeaves) {
  std::atomic<int> started{0};
  std::atomic<int> seen{-1};
  this->runtime_.BlockOn(
      [](std::atomic<int>* started, std::atomic<int>* seen) -> Task<void> {
        auto group = TaskGroup::Create();
        group->Spawn(ForeverRecording(group.get(), started, seen));
        while (started->load() < 1) co_await SleepFor(milliseconds(1));
        group->AbortAll();
        co_await group->WaitEmpty();
      }(&started, &seen));
  EXPECT_EQ(seen.load(), 1);
}

TYPED_TEST(TaskGroupTest, AMemberThatThrowsLeavesAndDoesNotHurtTheOthers) {
  std::atomic<int> done{0};
  this->runtime_.BlockOn([](std::atomic<int>* done) -> Task<void> {
    auto group = TaskGroup::Create();
    group->Spawn(Throw());
    group->Spawn(Count(done));
    co_await group->WaitEmpty();
  }(&done));
  EXPECT_EQ(done.load(), 1);
}

TYPED_TEST(TaskGroupTest, TheGroupMayBeDroppedWhileMembersRun) {
  std::atomic<int> done{0};
  this->runtime_.BlockOn([](std::atomic<int>* done) -> Task<void> {
    {
      auto group = TaskGroup::Create();
      for (int i = 0; i < 10; ++i) group->Spawn(Count(done));
    }
    while (done->load() < 10) co_await SleepFor(milliseconds(1));
  }(&done));
  EXPECT_EQ(done.load(), 10);
}

}  // namespace
}  // namespace troupe::service
