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
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "executor/frame_allocator.h"
#include "executor/task_header.h"

namespace troupe {

template <typename T = void>
class Task;

namespace internal {

struct TaskPromiseBase {
  static void* operator new(std::size_t size) {
    const std::size_t total = sizeof(FramePrefix) + size;
    auto* prefix = static_cast<FramePrefix*>(AllocateFrame(total));
    void* frame = prefix + 1;
    prefix->frame = frame;
    prefix->block_size = static_cast<uint32_t>(total);
    prefix->spawned = false;
    prefix->free_on_delete = false;
    return frame;
  }
  static void operator delete(void* frame, std::size_t) {
    FramePrefix* prefix = FramePrefix::Of(frame);
    // A spawned task's block holds its header, which may outlive the frame
    // (an aborted task): the header frees the block when it goes.
    if (!prefix->spawned || prefix->free_on_delete) {
      FreeFrame(prefix, prefix->block_size);
    }
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

template <typename T>
struct TaskPromise final : TaskPromiseBase {
  Task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    result.template emplace<2>(std::current_exception());
  }
  template <typename U>
  void return_value(U&& value) {
    result.template emplace<1>(std::forward<U>(value));
  }
  T TakeResult() {
    if (result.index() == 2) std::rethrow_exception(std::get<2>(result));
    return std::move(std::get<1>(result));
  }
  std::variant<std::monostate, T, std::exception_ptr> result;
};

template <>
struct TaskPromise<void> final : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error = std::current_exception(); }
  void return_void() noexcept {}
  void TakeResult() {
    if (error) std::rethrow_exception(error);
  }
  std::exception_ptr error;
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
