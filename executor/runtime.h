// Runtime: the user-facing executor. Owns a Scheduler (workers, timers)
// and a BlockingPool; starts on construction, shuts down on destruction.
//
// Contract:
//   - Flavor::kMultiThread runs `worker_threads` workers (0 = one per core).
//     Flavor::kCurrentThread runs every task on the thread that calls
//     BlockOn (no threads of its own); tasks spawned while nobody is in
//     BlockOn wait for the next BlockOn.
//   - Spawn(task) may be called from any thread; BlockOn(task) from any
//     thread that is not one of this runtime's workers (it would deadlock:
//     inside a task, co_await instead). One BlockOn at a time drives a
//     current-thread runtime.
//   - BlockOn returns the task's value, rethrows its exception, or throws
//     CancelledError if the runtime shut down first.
//   - Shutdown() follows the protocol in scheduler.h: unfinished tasks are
//     destroyed (not resumed). ShutdownTimeout(d) first gives them up to d
//     to finish. Both must be called from outside the runtime: from one of
//     its tasks (or worker threads) they throw std::logic_error and change
//     nothing. The blocking pool is joined; a blocking job still running
//     when the deadline passes is left to finish on its detached thread.
//
// Example, the one-line entry point:
//   Task<int> AsyncMain() { co_await SleepFor(10ms); co_return 0; }
//   int main() { return troupe::RunMain(AsyncMain, {.worker_threads = 8}); }
#ifndef TROUPE_EXECUTOR_RUNTIME_H_
#define TROUPE_EXECUTOR_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "executor/blocking_pool.h"
#include "executor/clock.h"
#include "executor/futex.h"
#include "executor/guarded_task.h"
#include "executor/join_handle.h"
#include "executor/metrics.h"
#include "executor/scheduler.h"
#include "executor/task.h"

namespace troupe {

struct RuntimeOptions {
  Flavor flavor = Flavor::kMultiThread;
  int worker_threads = 0;  // 0: std::thread::hardware_concurrency()
  Clock* clock = nullptr;  // nullptr: the system clock
  // With a ManualClock on a current-thread runtime: jump to the next timer
  // whenever nothing is runnable (the deterministic test mode).
  bool auto_advance = false;
  std::string thread_name = "troupe";
  BlockingPoolOptions blocking;
};

class Runtime {
 public:
  explicit Runtime(const RuntimeOptions& options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  template <typename T>
  JoinHandle<T> Spawn(Task<T> task) {
    return JoinHandle<T>(
        internal::SpawnOn(*scheduler_, std::move(task), /*with_handle=*/true));
  }

  template <TaskConvertible W>
  auto Spawn(W awaitable) {
    return Spawn(std::move(awaitable).ToTask());
  }

  template <typename T>
  T BlockOn(Task<T> task);
  template <TaskConvertible W>
  auto BlockOn(W awaitable) {
    return BlockOn(std::move(awaitable).ToTask());
  }

  void Shutdown();
  void ShutdownTimeout(Duration deadline);

  RuntimeMetrics Metrics() const;
  Scheduler& scheduler() { return *scheduler_; }
  BlockingPool& blocking_pool() { return *blocking_; }
  Flavor flavor() const { return scheduler_->flavor(); }
  int worker_threads() const { return scheduler_->num_workers(); }

  // The runtime whose task (or BlockOn) the calling thread is running.
  static Runtime* Current();

 private:
  struct BlockOnState {
    std::atomic<bool> done{false};
    std::atomic<uint32_t> word{0};
    bool finished = false;  // the task ran to its end (value or exception)
  };
  // Tells the BlockOn caller that the wrapper is over, however it ended: it
  // ran to its end or was destroyed at a suspension point (the wrapper's
  // local FireOnExit fires it), or it was destroyed before it ever ran - a
  // spawn refused at shutdown, or a queued wrapper dropped by it. Only a
  // parameter covers that last case: a coroutine destroyed before its first
  // resumption destroys its parameters but never constructed its locals.
  // Fires once; a moved-from guard does nothing. Firing is the last access
  // to the state: the BlockOn caller may return (freeing it) at once.
  class DoneGuard {
   public:
    DoneGuard(BlockOnState* state, Scheduler* scheduler)
        : state_(state), scheduler_(scheduler) {}
    DoneGuard(DoneGuard&& other) noexcept
        : state_(std::exchange(other.state_, nullptr)),
          scheduler_(other.scheduler_) {}
    DoneGuard& operator=(DoneGuard&&) = delete;
    ~DoneGuard() { Fire(); }

    BlockOnState* state() const { return state_; }
    void Fire() {
      BlockOnState* const state = std::exchange(state_, nullptr);
      if (state == nullptr) return;
      state->done.store(true, std::memory_order_release);
      state->word.store(1, std::memory_order_release);
      internal::FutexWake(&state->word, 1);
      if (scheduler_->flavor() == Flavor::kCurrentThread) {
        scheduler_->WakeAll();
      }
    }

   private:
    BlockOnState* state_;
    Scheduler* scheduler_;
  };
  // The task and its guard as the wrapper's one parameter (see
  // guarded_task.h): a wrapper destroyed before it ran destroys the
  // task's frame before the guard fires.
  template <typename T>
  using Guarded = GuardedTask<T, DoneGuard>;
  template <typename T>
  static Task<void> BlockOnWrapper(Guarded<T> guarded,
                                   std::optional<internal::Stored<T>>* value,
                                   std::exception_ptr* error);
  void CheckNotOnWorker(const char* what) const;
  void WaitForBlockOn(BlockOnState& state);

  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<BlockingPool> blocking_;
};

template <typename T>
Task<void> Runtime::BlockOnWrapper(Guarded<T> guarded,
                                   std::optional<internal::Stored<T>>* value,
                                   std::exception_ptr* error) {
  // Fires `done` as soon as the body is over (returned, threw, or was
  // destroyed mid-way), rather than when the parameters go.
  struct FireOnExit {
    DoneGuard* done;
    ~FireOnExit() { done->Fire(); }
  } fire_on_exit{&guarded.guard()};
  // A local declared after the guard, so the awaited frame (its parameters
  // included) is destroyed before `done` fires and BlockOn returns.
  Task<T> body = std::move(guarded.task());
  BlockOnState* const state = guarded.guard().state();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
      value->emplace();
    } else {
      value->emplace(co_await std::move(body));
    }
  } catch (...) {
    *error = std::current_exception();
  }
  state->finished = true;
}

template <typename T>
T Runtime::BlockOn(Task<T> task) {
  CheckNotOnWorker("BlockOn");
  BlockOnState state;
  std::optional<internal::Stored<T>> value;
  std::exception_ptr error;
  // The guard is built outside any co_await (GCC 12 and coroutine
  // arguments with destructors) and moved into the wrapper's frame.
  internal::SpawnOn(
      *scheduler_,
      BlockOnWrapper<T>(
          Guarded<T>(std::move(task), DoneGuard(&state, scheduler_.get())),
          &value, &error),
      /*with_handle=*/false);
  WaitForBlockOn(state);
  if (error) std::rethrow_exception(error);
  if (!state.finished || !value.has_value()) throw CancelledError();
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

// Runs `async_main` (a function returning Task<int> or Task<void>) to
// completion on a new runtime and returns its exit code. An exception
// escaping it is printed and turned into exit code 1.
template <typename F>
int RunMain(F&& async_main, RuntimeOptions options = {}) {
  using TaskType = std::invoke_result_t<F>;
  using T = typename TaskType::value_type;
  try {
    Runtime runtime(std::move(options));
    if constexpr (std::is_void_v<T>) {
      runtime.BlockOn(std::forward<F>(async_main)());
      return 0;
    } else {
      return static_cast<int>(runtime.BlockOn(std::forward<F>(async_main)()));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe: the main task failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_RUNTIME_H_
