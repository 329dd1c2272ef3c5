// BlockingPool and SpawnBlocking: run blocking work (file I/O, a slow C
// library, CPU-heavy hashing) on separate threads so it never stalls a
// worker.
//
// Contract:
//   - At most `max_threads` threads, started on demand and retired after
//     `keep_alive` idle. At most `queue_capacity` jobs wait for a thread;
//     beyond that SpawnBlocking reports ResourceExhausted to the caller -
//     the queue never grows without limit.
//   - SpawnBlocking(fn) returns a handle; `co_await handle` yields fn's
//     result or rethrows its exception. A job dropped by shutdown before it
//     ran makes the await throw CancelledError.
//   - A started job is never interrupted: blocking code cannot be
//     cancelled. Shutdown(deadline) waits for running jobs up to the
//     deadline and then detaches their threads.
//
// Example:
//   absl::StatusOr<BlockingHandle<std::string>> h =
//       SpawnBlocking([] { return ReadWholeFile("/etc/hosts"); });
//   if (!h.ok()) co_return h.status();       // queue full
//   std::string text = co_await *h;
#ifndef TROUPE_EXECUTOR_BLOCKING_POOL_H_
#define TROUPE_EXECUTOR_BLOCKING_POOL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/task_header.h"

namespace troupe {

class CancelledError;

struct BlockingPoolOptions {
  int max_threads = 64;
  std::size_t queue_capacity = 4096;
  Duration keep_alive = std::chrono::seconds(10);
};

class BlockingPool {
 public:
  // A job gets `true` to run, or `false` if the pool shut down first.
  using Job = absl::AnyInvocable<void(bool run)>;

  explicit BlockingPool(BlockingPoolOptions options);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // ResourceExhausted when the queue is full, FailedPrecondition after
  // shutdown; the job is then dropped without being called.
  absl::Status Submit(Job job);
  void Shutdown(std::optional<Duration> deadline);

  struct Stats {
    int64_t threads = 0;
    int64_t idle_threads = 0;
    int64_t queued = 0;
  };
  Stats GetStats();

 private:
  // Shared with the (detached) threads, so a thread still running a job
  // after a shutdown deadline never touches freed memory.
  struct Core {
    explicit Core(BlockingPoolOptions o) : options(o) {}
    const BlockingPoolOptions options;
    std::mutex mu;
    std::condition_variable work_cv;  // a job arrived, or shutdown
    std::condition_variable exit_cv;  // a thread exited
    std::deque<Job> queue;            // guarded by mu
    int threads = 0;                  // guarded by mu
    int idle = 0;                     // guarded by mu; waiting, unclaimed
    int notified = 0;                 // guarded by mu; claimed by Submit
    bool shutdown = false;            // guarded by mu
  };
  static void ThreadMain(std::shared_ptr<Core> core);

  std::shared_ptr<Core> core_;
};

namespace internal {

template <typename R>
struct BlockingState {
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  static constexpr uintptr_t kDone = 1;
  std::variant<std::monostate, Value, std::exception_ptr> result;
  bool dropped = false;
  // 0: nobody waits; kDone: finished; else a TaskHeader* holding a ref.
  std::atomic<uintptr_t> waiter{0};

  void Finish() {
    // acq_rel: publishes `result` to the awaiter (which loads with acquire).
    const uintptr_t w = waiter.exchange(kDone, std::memory_order_acq_rel);
    if (w > kDone) TaskRef::Adopt(reinterpret_cast<TaskHeader*>(w)).Wake();
  }
};

[[noreturn]] void ThrowCancelled();
BlockingPool& CurrentBlockingPool();

}  // namespace internal

template <typename R>
class [[nodiscard]] BlockingHandle {
 public:
  explicit BlockingHandle(std::shared_ptr<internal::BlockingState<R>> state)
      : state_(std::move(state)) {}

  bool IsFinished() const {
    return state_->waiter.load(std::memory_order_acquire) ==
           internal::BlockingState<R>::kDone;
  }

  class Awaiter final : public ParkedAwaiter {
   public:
    explicit Awaiter(internal::BlockingState<R>* state) : state_(state) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (waiting_ != nullptr) {
        uintptr_t expected = reinterpret_cast<uintptr_t>(waiting_);
        if (state_->waiter.compare_exchange_strong(expected, 0,
                                                   std::memory_order_acq_rel)) {
          waiting_->RefDec();
        }
      }
    }
    bool await_ready() const { return IsDone(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      self->SetResumePoint(handle, this);
      self->RefInc();
      uintptr_t expected = 0;
      if (state_->waiter.compare_exchange_strong(
              expected, reinterpret_cast<uintptr_t>(self),
              std::memory_order_acq_rel, std::memory_order_acquire)) {
        waiting_ = self;
        return true;
      }
      self->RefDec();
      return false;
    }
    bool Ready() override { return IsDone(); }
    R await_resume() {
      waiting_ = nullptr;
      if (state_->dropped) internal::ThrowCancelled();
      if (state_->result.index() == 2) {
        // Moved out: the awaiter's thread alone holds the exception from
        // here on. The pool thread may drop the last reference to the
        // state; an exception still in it would be freed there, through a
        // reference count ThreadSanitizer cannot see (uninstrumented
        // libstdc++), which it reports as a race with the catch's reads.
        std::rethrow_exception(std::move(std::get<2>(state_->result)));
      }
      if constexpr (!std::is_void_v<R>) {
        return std::move(std::get<1>(state_->result));
      }
    }

   private:
    bool IsDone() const {
      return state_->waiter.load(std::memory_order_acquire) ==
             internal::BlockingState<R>::kDone;
    }
    internal::BlockingState<R>* const state_;
    TaskHeader* waiting_ = nullptr;
  };
  Awaiter operator co_await() & { return Awaiter(state_.get()); }
  Awaiter operator co_await() && { return Awaiter(state_.get()); }

 private:
  std::shared_ptr<internal::BlockingState<R>> state_;
};

// Runs `fn` on `pool` (by default the current runtime's pool).
template <typename F, typename R = std::invoke_result_t<F>>
absl::StatusOr<BlockingHandle<R>> SpawnBlocking(
    F fn, BlockingPool& pool = internal::CurrentBlockingPool()) {
  auto state = std::make_shared<internal::BlockingState<R>>();
  absl::Status status =
      pool.Submit([state, fn = std::move(fn)](bool run) mutable {
        if (!run) {
          state->dropped = true;
        } else {
          try {
            if constexpr (std::is_void_v<R>) {
              fn();
              state->result.template emplace<1>();
            } else {
              state->result.template emplace<1>(fn());
            }
          } catch (...) {
            state->result.template emplace<2>(std::current_exception());
          }
        }
        state->Finish();
      });
  if (!status.ok()) return status;
  return BlockingHandle<R>(std::move(state));
}

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_BLOCKING_POOL_H_
