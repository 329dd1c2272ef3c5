// Task<T>: a lazy coroutine producing a T (or void).
//
// Contract:
//   - A Task does nothing until awaited (or spawned): `co_await task` starts
//     it and resumes the awaiter with its result via symmetric transfer, so
//     deep await chains use no extra stack.
//   - T may be void or move-only; references are not supported (return a
//     pointer or std::reference_wrapper).
//   - An exception thrown inside the task propagates to the awaiter.
//   - A Task is move-only and owns its frame: destroying an unfinished Task
//     destroys the coroutine (its locals' destructors run). That is how
//     cancellation tears a task tree down.
//   - Frames come from the per-thread frame allocator (frame_allocator.h):
//     no malloc in steady state. Each frame is preceded by a FramePrefix
//     with room for the scheduler's TaskHeader, so Spawn() needs no second
//     allocation.
//
// Example:
//   Task<int> Add(int a, int b) { co_return a + b; }
//   Task<void> Print() { std::cout << co_await Add(1, 2); }
#ifndef TROUPE_EXECUTOR_TASK_H_
#define TROUPE_EXECUTOR_TASK_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "executor/frame_allocator.h"
#include "executor/task_header.h"

namespace troupe {

template <typename T = void>
class Task;

namespace internal {

template <typename T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// Where a task's outcome lives: in its block, in front of the FramePrefix,
// so it outlives the frame (see FramePrefix in task_header.h).
template <typename T>
using ResultSlot = std::variant<std::monostate, Stored<T>, std::exception_ptr>;

template <typename T>
inline constexpr std::size_t kSlotBytes = (sizeof(ResultSlot<T>) +
                                           alignof(FramePrefix) - 1) &
                                          ~(alignof(FramePrefix) - 1);

template <typename T>
ResultSlot<T>* SlotOf(FramePrefix* prefix) {
  return std::launder(reinterpret_cast<ResultSlot<T>*>(
      reinterpret_cast<char*>(prefix) - kSlotBytes<T>));
}

template <typename T>
struct TaskPromiseBase {
  static_assert(alignof(ResultSlot<T>) <= alignof(FramePrefix),
                "over-aligned task results are not supported");

  static void* operator new(std::size_t size) {
    const std::size_t total = kSlotBytes<T> + sizeof(FramePrefix) + size;
    void* block = AllocateFrame(total);
    new (block) ResultSlot<T>();
    auto* prefix = reinterpret_cast<FramePrefix*>(static_cast<char*>(block) +
                                                  kSlotBytes<T>);
    void* frame = prefix + 1;
    prefix->block = block;
    prefix->frame = frame;
    prefix->destroy_result = &DestroyResult;
    prefix->block_size = static_cast<uint32_t>(total);
    prefix->spawned = false;
    prefix->free_on_delete = false;
    return frame;
  }
  static void operator delete(void* frame, std::size_t) {
    FramePrefix* prefix = FramePrefix::Of(frame);
    // A spawned task's block holds its header and result, which outlive
    // the frame: the header frees the block when its last reference goes.
    if (!prefix->spawned || prefix->free_on_delete) {
      DestroyResult(prefix);
      FreeFrame(prefix->block, prefix->block_size);
    }
  }
  static void DestroyResult(FramePrefix* prefix) {
    SlotOf<T>(prefix)->~ResultSlot<T>();
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<Promise> self) noexcept {
      // Symmetric transfer back to whoever awaited us.
      std::coroutine_handle<> next = self.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  std::coroutine_handle<> continuation;
};

// Moves the outcome out of a finished task's result slot (or rethrows).
template <typename T>
T TakeResultFrom(FramePrefix* prefix) {
  ResultSlot<T>& slot = *SlotOf<T>(prefix);
  if (slot.index() == 2) std::rethrow_exception(std::get<2>(slot));
  if constexpr (!std::is_void_v<T>) return std::move(std::get<1>(slot));
}

template <typename T>
struct TaskPromise final : TaskPromiseBase<T> {
  Task<T> get_return_object() noexcept;
  FramePrefix* prefix() {
    return FramePrefix::Of(
        std::coroutine_handle<TaskPromise>::from_promise(*this).address());
  }
  void unhandled_exception() noexcept {
    SlotOf<T>(prefix())->template emplace<2>(std::current_exception());
  }
  void return_value(T&& value) {
    SlotOf<T>(prefix())->template emplace<1>(std::move(value));
  }
  void return_value(const T& value) {
    SlotOf<T>(prefix())->template emplace<1>(value);
  }
  T TakeResult() { return TakeResultFrom<T>(prefix()); }
};

template <>
struct TaskPromise<void> final : TaskPromiseBase<void> {
  Task<void> get_return_object() noexcept;
  FramePrefix* prefix() {
    return FramePrefix::Of(
        std::coroutine_handle<TaskPromise>::from_promise(*this).address());
  }
  void unhandled_exception() noexcept {
    SlotOf<void>(prefix())->template emplace<2>(std::current_exception());
  }
  void return_void() noexcept {}
  void TakeResult() { TakeResultFrom<void>(prefix()); }
};

}  // namespace internal

template <typename T>
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>,
                "Task<T&> is not supported: return a pointer or a value");

 public:
  using promise_type = internal::TaskPromise<T>;
  using value_type = T;

  Task() = default;
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool valid() const { return static_cast<bool>(handle_); }
  bool done() const { return handle_ && handle_.done(); }

  struct Awaiter {
    std::coroutine_handle<promise_type> handle;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<> awaiter) noexcept {
      handle.promise().continuation = awaiter;
      return handle;
    }
    T await_resume() { return handle.promise().TakeResult(); }
  };
  Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

  // Gives up ownership of the frame (used by spawning).
  std::coroutine_handle<promise_type> Release() {
    return std::exchange(handle_, {});
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

// An awaitable that can also become a Task of its own (an actor's ask):
// `std::move(w).ToTask()`. Spawn, BlockOn and Timeout accept it.
namespace internal {
template <typename T>
inline constexpr bool kIsTask = false;
template <typename T>
inline constexpr bool kIsTask<Task<T>> = true;
}  // namespace internal
template <typename W>
concept TaskConvertible = requires(W w) {
  std::move(w).ToTask();
}
&&internal::kIsTask<decltype(std::declval<W>().ToTask())>;

namespace internal {
template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(
      std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace internal

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_TASK_H_
