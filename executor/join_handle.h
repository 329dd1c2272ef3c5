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
// Memory: a spawned task is one block from the frame allocator: the header
// and result slot, followed by the root coroutine frame. Steady-state
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
#include <exception>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "executor/frame_allocator.h"
#include "executor/scheduler.h"
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

template <typename T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
struct SpawnState final : TaskHeader {
  SpawnState(const TaskVTable* vtable, std::coroutine_handle<> root,
             uint64_t refs, std::size_t block)
      : TaskHeader(vtable, root, refs), block_size(block) {}

  std::variant<std::monostate, Stored<T>, std::exception_ptr> result;
  bool cancelled = false;
  const std::size_t block_size;

  Stored<T> TakeResult() {
    if (cancelled) throw CancelledError();
    if (result.index() == 2) std::rethrow_exception(std::get<2>(result));
    return std::move(std::get<1>(result));
  }
};

// Hand-off from RootPromise::operator new to the promise constructor on the
// same thread: where the block starts and how big it is.
struct BlockHandoff {
  void* block = nullptr;
  std::size_t size = 0;
};
inline thread_local BlockHandoff tls_block_handoff;

template <typename T>
struct RootTask;

// The promise of the root coroutine that wraps a spawned Task<T>. Its frame
// lives inside the task's block, right after the SpawnState.
template <typename T>
struct RootPromise {
  static constexpr std::size_t kPrefix =
      (sizeof(SpawnState<T>) + alignof(std::max_align_t) - 1) &
      ~(alignof(std::max_align_t) - 1);

  static void* operator new(std::size_t frame_size) {
    const std::size_t total = kPrefix + frame_size;
    void* block = AllocateFrame(total);
    tls_block_handoff = BlockHandoff{block, total};
    return static_cast<char*>(block) + kPrefix;
  }
  // The frame is part of the block, which the task's last reference frees.
  static void operator delete(void*, std::size_t) noexcept {}

  RootPromise()
      : block(tls_block_handoff.block), block_size(tls_block_handoff.size) {}

  RootTask<T> get_return_object() noexcept;
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<RootPromise> self) noexcept {
      self.promise().state()->MarkReturned();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept {
    state()->result.template emplace<2>(std::current_exception());
  }
  void return_value(Stored<T>&& value) {
    state()->result.template emplace<1>(std::move(value));
  }

  // Valid once Spawn has constructed the state in the block.
  SpawnState<T>* state() { return static_cast<SpawnState<T>*>(block); }

  void* const block;
  const std::size_t block_size;
};

template <typename T>
struct RootTask {
  using promise_type = RootPromise<T>;
  std::coroutine_handle<promise_type> handle;
};

template <typename T>
RootTask<T> RootPromise<T>::get_return_object() noexcept {
  return RootTask<T>{std::coroutine_handle<RootPromise>::from_promise(*this)};
}

template <typename T>
RootTask<T> MakeRoot(Task<T> task) {
  // A local, not the parameter: locals die when the body ends, so the
  // inner frame is freed at completion, not when the handle goes.
  Task<T> inner = std::move(task);
  if constexpr (std::is_void_v<T>) {
    co_await std::move(inner);
    co_return std::monostate{};
  } else {
    co_return co_await std::move(inner);
  }
}

template <typename T>
const TaskVTable* VTableFor() {
  using State = SpawnState<T>;
  static constexpr TaskVTable kVTable = {
      /*destroy_frame=*/
      [](TaskHeader* h) {
        if (std::coroutine_handle<> root = h->TakeRoot()) root.destroy();
      },
      /*set_cancelled=*/
      [](TaskHeader* h) { static_cast<State*>(h)->cancelled = true; },
      /*deallocate=*/
      [](TaskHeader* h) {
        auto* s = static_cast<State*>(h);
        const std::size_t size = s->block_size;
        s->~State();
        FreeFrame(s, size);
      },
  };
  return &kVTable;
}

// Creates the task's block and hands it to `scheduler`. Returns the state
// with a reference for the JoinHandle if `with_handle`.
template <typename T>
SpawnState<T>* SpawnOn(Scheduler& scheduler, Task<T> task, bool with_handle) {
  RootTask<T> root = MakeRoot<T>(std::move(task));
  RootPromise<T>& promise = root.handle.promise();
  // References: the live-task list, the run queue, and maybe the handle.
  auto* state = new (promise.block)
      SpawnState<T>(VTableFor<T>(), root.handle, with_handle ? 3 : 2,
                    promise.block_size);
  scheduler.Spawn(state);
  return with_handle ? state : nullptr;
}

}  // namespace internal

template <typename T>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() = default;
  explicit JoinHandle(internal::SpawnState<T>* state) : state_(state) {}
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
    explicit Awaiter(internal::SpawnState<T>* state) : state_(state) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (waiting_ != nullptr) {
        // Abandoned while waiting: take our registration back; if the
        // completer already took it, it will consume the reference.
        uintptr_t expected = reinterpret_cast<uintptr_t>(waiting_);
        if (state_->join_waiter.compare_exchange_strong(
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
      if (state_->join_waiter.compare_exchange_strong(
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
      if constexpr (std::is_void_v<T>) {
        state_->TakeResult();
      } else {
        return state_->TakeResult();
      }
    }

   private:
    internal::SpawnState<T>* const state_;
    TaskHeader* waiting_ = nullptr;
  };

  Awaiter operator co_await() & {
    assert(state_ != nullptr && "awaiting an empty JoinHandle");
    return Awaiter(state_);
  }
  Awaiter operator co_await() && { return operator co_await(); }

 private:
  internal::SpawnState<T>* state_ = nullptr;
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
