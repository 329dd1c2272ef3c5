// Fake tasks for the run-queue tests: TaskHeaders that are queued, stolen
// and overflowed but never run. Only their queue link is used.
//
// Each fake starts with two references: one the test keeps for good (so a
// fake is never deallocated - it owns no coroutine frame) and one a queue
// may drop (InjectQueue drops it when it refuses a push). RefCountForTest()
// therefore tells whether a queue dropped a fake's reference.
//
// Example:
//   test::FakeTasks tasks(3);
//   queue.Push(tasks[0]);
//   EXPECT_EQ(tasks.IdOf(queue.Pop()), 0);
#ifndef TROUPE_TESTS_EXECUTOR_FAKE_TASK_H_
#define TROUPE_TESTS_EXECUTOR_FAKE_TASK_H_

#include <coroutine>
#include <cstddef>
#include <memory>

#include "executor/task_header.h"

namespace troupe {

// TaskHeader befriends this seam: the intrusive queue link, for tests that
// build or walk a chain for InjectQueue::PushBatch / PopBatch.
struct TaskQueueLink {
  static TaskHeader* Next(const TaskHeader* task) { return task->queue_next_; }
  static void Link(TaskHeader* task, TaskHeader* next) {
    task->queue_next_ = next;
  }
};

namespace test {

struct FakeTask : TaskHeader {
  FakeTask()
      : TaskHeader(std::coroutine_handle<>(), /*initial_refs=*/2,
                   /*joinable=*/false) {}
  int id = 0;
};

// A fixed array of fakes numbered 0..n-1.
class FakeTasks {
 public:
  explicit FakeTasks(std::size_t n) : size_(n), tasks_(new FakeTask[n]) {
    for (std::size_t i = 0; i < n; ++i) tasks_[i].id = static_cast<int>(i);
  }
  TaskHeader* operator[](std::size_t i) { return &tasks_[i]; }
  std::size_t size() const { return size_; }
  static int IdOf(TaskHeader* task) {
    return task == nullptr ? -1 : static_cast<FakeTask*>(task)->id;
  }

 private:
  std::size_t size_;
  std::unique_ptr<FakeTask[]> tasks_;
};

}  // namespace test
}  // namespace troupe

#endif  // TROUPE_TESTS_EXECUTOR_FAKE_TASK_H_
