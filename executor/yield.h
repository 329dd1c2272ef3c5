// YieldNow: give other tasks a turn. The task goes to the back of its
// worker's run queue and resumes after what is already queued there.
//
// Example:
//   for (int i = 0; i < n; ++i) { Step(i); co_await YieldNow(); }
#ifndef TROUPE_EXECUTOR_YIELD_H_
#define TROUPE_EXECUTOR_YIELD_H_

#include <cassert>
#include <coroutine>

#include "executor/task_header.h"

namespace troupe {

struct YieldAwaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) const noexcept {
    TaskHeader* self = CurrentTask();
    assert(self != nullptr && "YieldNow() outside a task");
    // No guard: any wake resumes it, and the only wake is our own.
    self->SetResumePoint(handle, nullptr);
    self->RequestYield();  // EndRun requeues it at the back
  }
  void await_resume() const noexcept {}
};

inline YieldAwaiter YieldNow() { return {}; }

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_YIELD_H_
