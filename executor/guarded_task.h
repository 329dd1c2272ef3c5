// GuardedTask<T, Guard>: a task and a guard handed to a wrapper coroutine
// as its one parameter, destroyed task first.
//
// Contract:
//   - For a wrapper that awaits `task` and whose guard must act only once
//     the task's frame - its locals, its parameters and whatever their
//     destructors touch - is gone: a TaskGroup member leaving its group, a
//     BlockOn waking its caller.
//   - One parameter, not two: the order in which a coroutine frame
//     destroys its parameter copies differs between compilers (g++ 12:
//     first to last), while a class's members go last to first - so the
//     task (declared last) always goes first, whether the wrapper ran to
//     its end, was destroyed mid-way, or never started.
//   - Move-only; moving is for passing it into the wrapper only.
//
// Example:
//   static Task<void> RunMember(GuardedTask<void, Membership> member) {
//     co_await std::move(member.task());
//   }  // the awaited frame is gone before ~Membership runs
#ifndef TROUPE_EXECUTOR_GUARDED_TASK_H_
#define TROUPE_EXECUTOR_GUARDED_TASK_H_

#include <utility>

#include "executor/task.h"

namespace troupe {

template <typename T, typename Guard>
class GuardedTask {
 public:
  GuardedTask(Task<T> task, Guard guard)
      : guard_(std::move(guard)), task_(std::move(task)) {}
  GuardedTask(GuardedTask&&) noexcept = default;
  GuardedTask& operator=(GuardedTask&&) = delete;

  Guard& guard() { return guard_; }
  Task<T>& task() { return task_; }

 private:
  Guard guard_;   // declared first: destroyed last
  Task<T> task_;  // destroyed first
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_GUARDED_TASK_H_
