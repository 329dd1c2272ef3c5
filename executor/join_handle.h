// Spawning: Spawn(task) runs a Task<T> concurrently on the current runtime
// and returns a JoinHandle<T>.
//
// Contract:
//   - `co_await handle` returns the task's result, rethrows its exception,
//     or throws CancelledError if it was aborted (or the runtime shut down
//     before it finished). A handle is awaited at most once.
//   - handle.Abort() cancels the task at its next suspension point: its
//     coroutine frames are destroyed (destructors run, awaiters deregister)
//     without resuming it. Aborting a finished task does nothing.
//   - Dropping (or Detach()ing) the handle lets the task run on; its result
//     is discarded.
//   - Spawn() must be called on a runtime thread (inside a task); from a
//     plain thread use Runtime::Spawn.
//
// Memory: a spawned task is its own coroutine frame: the header lives in
// the frame's prefix and the result in its promise. Steady-state
// spawn/complete allocates nothing.
//
// Example:
//   JoinHandle<int> h = Spawn(Compute(21));
//   int v = co_await h;   // 42
//   Spawn(Forever()).Abort();
#ifndef TROUPE_EXECUTOR_JOIN_HANDLE_H_
#define TROUPE_EXECUTOR_JOIN_HANDLE_H_

#include <cassert>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "executor/frame_allocator.h"
#include "executor/scheduler.h"
#include "executor/strand.h"
#include "executor/task.h"
#include "executor/task_header.h"

namespace troupe {

// Thrown by awaiting a JoinHandle (or BlockOn) of a task that was
// cancelled before it finished.
class CancelledError : public std::runtime_error {
 public:
  CancelledError() : std::runtime_error("task was cancelled") {}
};

namespace internal {

// Moves the result out of a finished task's result slot (or throws).
template <typename T>
T TakeTaskResult(TaskHeader* task) {
  if (task->cancelled_result()) throw CancelledError();
  return TakeResultFrom<T>(FramePrefix::Of(task->frame_address()));
}

// Turns `task` into a scheduled task: constructs its header in the frame's
// prefix and hands it to `scheduler`. Returns the header, with a reference
// for a JoinHandle if `with_handle`.
template <typename T>
TaskHeader* SpawnOn(Scheduler& scheduler, Task<T> task, bool with_handle,
                    Strand* strand = nullptr) {
  std::coroutine_handle<TaskPromise<T>> handle = task.Release();
  assert(handle && "spawning an empty Task");
  FramePrefix* prefix = FramePrefix::Of(handle.address());
  if (prefix->frame != handle.address()) {
    // The compiler placed the frame elsewhere than operator new returned:
    // the prefix scheme cannot work. Never seen with g++ or clang.
    std::fprintf(stderr, "troupe: unexpected coroutine frame layout\n");
    std::abort();
  }
  // References: the live-task list, the run queue, and maybe the handle.
  auto* header = new (prefix->header)
      TaskHeader(handle, with_handle ? 3 : 2, /*joinable=*/with_handle);
  prefix->spawned = true;
  if (with_handle) new (&prefix->join_waiter) std::atomic<uintptr_t>(0);
  header->set_strand(strand);
  scheduler.Spawn(header);
  return with_handle ? header : nullptr;
}

}  // namespace internal

template <typename T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() = default;
  explicit JoinHandle(TaskHeader* state) : state_(state) {}
  JoinHandle(JoinHandle&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      Detach();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { Detach(); }

  bool valid() const { return state_ != nullptr; }
  bool IsFinished() const { return state_ != nullptr && state_->IsComplete(); }
  void Abort() {
    if (state_ != nullptr) state_->Abort();
  }
  void Detach() {
    if (state_ != nullptr) std::exchange(state_, nullptr)->RefDec();
  }

  class Awaiter final : public ParkedAwaiter {
   public:
    explicit Awaiter(TaskHeader* state) : state_(state) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (waiting_ != nullptr) {
        // Abandoned while waiting: take our registration back; if the
        // completer already took it, it will consume the reference.
        uintptr_t expected = reinterpret_cast<uintptr_t>(waiting_);
        if (state_->join_waiter().compare_exchange_strong(
                expected, 0, std::memory_order_acq_rel)) {
          waiting_->RefDec();
        }
      }
    }

    bool await_ready() const noexcept { return state_->IsComplete(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      assert(self != nullptr && "co_await on a JoinHandle outside a task");
      self->SetResumePoint(handle, this);
      self->RefInc();  // the completer consumes it by waking us
      uintptr_t expected = 0;
      if (state_->join_waiter().compare_exchange_strong(
              expected, reinterpret_cast<uintptr_t>(self),
              std::memory_order_acq_rel, std::memory_order_acquire)) {
        waiting_ = self;
        return true;
      }
      // Already complete (kJoinClosed): don't suspend.
      self->RefDec();
      return false;
    }
    bool Ready() override { return state_->IsComplete(); }
    T await_resume() {
      waiting_ = nullptr;  // the completer consumed the registration
      return internal::TakeTaskResult<T>(state_);
    }

   private:
    TaskHeader* const state_;
    TaskHeader* waiting_ = nullptr;
  };

  Awaiter operator co_await() & {
    assert(state_ != nullptr && "awaiting an empty JoinHandle");
    return Awaiter(state_);
  }
  Awaiter operator co_await() && { return operator co_await(); }

 private:
  TaskHeader* state_ = nullptr;
};

// Spawns `task` on the runtime of the calling thread.
template <typename T>
JoinHandle<T> Spawn(Task<T> task) {
  Scheduler* scheduler = Scheduler::Current();
  if (scheduler == nullptr) {
    throw std::logic_error(
        "troupe::Spawn called outside a runtime thread; use Runtime::Spawn");
  }
  return JoinHandle<T>(
      internal::SpawnOn(*scheduler, std::move(task), /*with_handle=*/true));
}

template <TaskConvertible W>
auto Spawn(W awaitable) {
  return Spawn(std::move(awaitable).ToTask());
}

// Spawns `task` on the runtime of the calling thread as a member of
// `strand` (strand.h): it never runs at the same time as another member.
template <typename T>
JoinHandle<T> SpawnOnStrand(Strand& strand, Task<T> task) {
  Scheduler* scheduler = Scheduler::Current();
  if (scheduler == nullptr) {
    throw std::logic_error(
        "troupe::SpawnOnStrand called outside a runtime thread; use "
        "Runtime::Spawn");
  }
  return JoinHandle<T>(internal::SpawnOn(*scheduler, std::move(task),
                                         /*with_handle=*/true, &strand));
}

// Spawns `task` without a handle (fire and forget).
template <typename T>
void SpawnDetached(Task<T> task) {
  Scheduler* scheduler = Scheduler::Current();
  if (scheduler == nullptr) {
    throw std::logic_error(
        "troupe::SpawnDetached called outside a runtime thread; use "
        "Runtime::Spawn");
  }
  internal::SpawnOn(*scheduler, std::move(task), /*with_handle=*/false);
}

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_JOIN_HANDLE_H_
