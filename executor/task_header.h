// TaskHeader: the scheduler's view of one spawned task. An intrusive node:
// run queues, the injection queue and the list of live tasks link headers
// directly, so scheduling a task allocates nothing.
//
// A spawned task is one memory block: every Task<T> frame is allocated with
// a FramePrefix (and a result slot) in front of it, and spawning constructs
// the TaskHeader in that prefix - so spawning allocates nothing beyond the
// task's own frame. The frame is destroyed as soon as the task finishes or
// is cancelled (its locals and parameters go at once, as with a dropped
// future); the block, holding header and result, lives until the last
// reference is dropped.
//
// State word (one 64-bit atomic; see the k* constants):
//
//   bits 0..15  flags
//     kRunning    a worker is resuming the task right now.
//     kScheduled  the task is in a run queue; or, together with kRunning, it
//                 was woken while running and must run again afterwards.
//     kComplete   the task finished (returned, threw, or was cancelled).
//                 Terminal. The result is readable by the JoinHandle.
//     kCancelled  Abort() was called. The next time the task would resume it
//                 is destroyed instead.
//   bits 16..63 reference count (kRefOne per reference).
//
// References: the list of live tasks (until complete), a JoinHandle (until
// dropped), each run-queue entry, and each TaskRef (a waker held outside the
// task). The block is freed when the count reaches zero.
//
// Transitions (all by compare-and-swap on the one word):
//   Wake(ref):   idle -> kScheduled (the ref moves into the run queue);
//                running -> running|kScheduled (ref dropped);
//                scheduled or complete -> unchanged (ref dropped).
//   StartRun:    kScheduled -> kRunning (the queue's ref is now the run's).
//   EndRun:      running|kScheduled -> kScheduled (requeue, ref kept);
//                running after YieldNow -> kScheduled (requeue, ref kept);
//                running -> idle (ref dropped);
//                running|kCancelled -> cancel now.
//   Complete:    -> kComplete (the run's ref dropped).
//   TryClaimIdle: idle -> kRunning (no reference: the live-task list's
//                keeps the task alive while it cannot complete).
//   EndClaimRun: running -> idle; running with kScheduled or kCancelled
//                (or asked to) -> kScheduled with a new reference, queued.
//
// Resumption is guarded: an awaiter that parks its task records a
// ParkedAwaiter; when the task is run again the awaiter's Ready() decides
// whether the coroutine resumes or the task goes back to idle. A late or
// duplicate wake (from a losing select branch, a timer racing a channel) is
// therefore harmless.
#ifndef TROUPE_EXECUTOR_TASK_HEADER_H_
#define TROUPE_EXECUTOR_TASK_HEADER_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace troupe {

class Scheduler;
class Strand;
class TaskHeader;

namespace internal {
inline thread_local TaskHeader* tls_current_task = nullptr;
}  // namespace internal

// The task the calling thread is running, or nullptr outside any task.
inline TaskHeader* CurrentTask() { return internal::tls_current_task; }

// Implemented by an awaiter that suspends its task until someone wakes it.
// Ready() is called on the worker that runs the task after a wake: true
// resumes the coroutine, false parks the task again (a spurious wake).
class ParkedAwaiter {
 public:
  virtual bool Ready() = 0;

 protected:
  ~ParkedAwaiter() = default;
};

// An interruption point around a region of a task (a Timeout, for example).
// When the task is woken and Triggered() says so, the region is abandoned:
// Abandon() destroys the region's coroutines and returns the coroutine to
// resume instead of the parked awaiter.
class Interrupt {
 public:
  virtual bool Triggered() = 0;
  virtual std::coroutine_handle<> Abandon() = 0;
  Interrupt* outer = nullptr;  // the enclosing interrupt of the same task

 protected:
  ~Interrupt() = default;
};

class TaskHeader {
 public:
  static constexpr uint64_t kRunning = 1u << 0;
  static constexpr uint64_t kScheduled = 1u << 1;
  static constexpr uint64_t kComplete = 1u << 2;
  static constexpr uint64_t kCancelled = 1u << 3;
  static constexpr uint64_t kFlagMask = (1u << 16) - 1;
  static constexpr uint64_t kRefOne = 1u << 16;

  TaskHeader(std::coroutine_handle<> root, uint64_t initial_refs, bool joinable)
      : state_(kScheduled | initial_refs * kRefOne),
        root_(root),
        resume_(root),
        joinable_(joinable),
        resumable_(false) {}
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // ---- references (any thread) ----
  void RefInc() {
    // Relaxed: the caller already holds a reference (or a lock that keeps
    // the header alive), as with shared_ptr copies.
    state_.fetch_add(kRefOne, std::memory_order_relaxed);
  }
  void RefDec(uint64_t n = 1) {
    if (n == 0) return;
    // acq_rel: the release publishes this holder's writes; the acquire on
    // the last decrement makes them visible to the deallocation.
    const uint64_t prev =
        state_.fetch_sub(n * kRefOne, std::memory_order_acq_rel);
    if ((prev >> 16) == n) Deallocate();
  }

  // ---- queries (any thread) ----
  bool IsComplete() const {
    // Acquire pairs with the release in Complete(): the result is visible.
    return (state_.load(std::memory_order_acquire) & kComplete) != 0;
  }
  bool IsCancelled() const {
    return (state_.load(std::memory_order_acquire) & kCancelled) != 0;
  }
  uint64_t RefCountForTest() const {
    return state_.load(std::memory_order_acquire) >> 16;
  }

  // ---- waking (any thread) ----
  // Consumes one reference held by the caller.
  void WakeByVal();
  // The caller holds no reference but knows the header is alive (it is the
  // running task itself, or holds a lock the task must take to go away).
  void WakeByRef();
  // Requests cancellation; the task is destroyed at its next resumption.
  void Abort();

  // ---- called by the running task's own awaiters (owning worker) ----
  // Records where to resume: `handle`, guarded by `awaiter` (may be null for
  // an unconditional resume, as in YieldNow).
  // YieldNow: requeue this task at the back of the queue when this run
  // ends (EndRun does it in its one atomic step).
  void RequestYield() { yield_requested_ = true; }
  void SetResumePoint(std::coroutine_handle<> handle, ParkedAwaiter* awaiter) {
    resume_ = handle;
    parked_ = awaiter;
  }
  void PushInterrupt(Interrupt* interrupt) {
    interrupt->outer = interrupts_;
    interrupts_ = interrupt;
  }
  void PopInterrupt(Interrupt* interrupt) {
    // Interrupts nest: the innermost is always the one leaving.
    if (interrupts_ == interrupt) interrupts_ = interrupt->outer;
  }
  // The spawned coroutine's frame address (the frame itself is destroyed
  // once the task is complete; the prefix and result slot remain). Null
  // for a Resumable.
  void* frame_address() const { return resumable_ ? nullptr : root_.address(); }
  // Set (before completion) when the task was cancelled, not finished.
  bool cancelled_result() const { return cancelled_result_; }

  Scheduler* scheduler() const { return scheduler_; }
  // The strand the task belongs to (strand.h), or nullptr.
  Strand* strand() const { return strand_; }
  // Set once, before the task is first scheduled (SpawnOnStrand); takes a
  // reference on the strand, released when the task is freed.
  void set_strand(Strand* strand);

 private:
  friend class Scheduler;
  friend class OwnedTasks;
  friend class InjectQueue;
  template <uint32_t>
  friend class LocalQueue;
  friend struct FramePrefix;
  friend struct TaskQueueLink;
  friend class Strand;
  friend class Resumable;

  // The header of a Resumable (resumable.h): no coroutine; references for
  // the live-task list and the first run, as for a spawned Task.
  enum ResumableTag { kResumableTag };
  explicit TaskHeader(ResumableTag)
      : state_(kScheduled | 2 * kRefOne), joinable_(false), resumable_(true) {}
  // A Resumable has no coroutine of its own: its Run, OnCancelled and
  // OnReleased stand for resuming, destroying and freeing the frame, and
  // root_ holds the coroutine it hosts, if any (resumable.h).
  bool resumable() const { return resumable_; }

  enum class RunResult { kRun, kCancel };
  enum class EndResult { kIdle, kRequeue, kCancel };
  RunResult StartRun();
  EndResult EndRun();
  // Resumable::TryClaim/EndClaim: idle -> running without a queue, and
  // back (requeued if `run`, woken or aborted meanwhile).
  bool TryClaimIdle();
  void EndClaimRun(bool run);
  // Marks complete and drops the run's reference is NOT done here: see
  // Scheduler::FinishTask, which orders join wake-up, list removal, drops.
  void SetComplete();
  // SetComplete and RefDec(n) in one step (no JoinHandle can observe it).
  void CompleteAndRelease(uint64_t n);
  // Destroys the frame early (abort, shutdown); the block stays.
  void DestroyFrame();
  // Frees the block: the last reference is gone. (A Resumable has no
  // block: its OnReleased runs, and may delete the object.)
  void Deallocate();
  // Resumes the task once (StartRun already succeeded). Returns true if the
  // root returned during this resumption (a Resumable: returned kDone).
  bool Resume();
  bool RunResumable();

  std::atomic<uint64_t> state_;
  std::coroutine_handle<> root_;
  std::coroutine_handle<> resume_;
  ParkedAwaiter* parked_ = nullptr;
  Interrupt* interrupts_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  Strand* strand_ = nullptr;  // immutable once scheduled; counted
  // Intrusive links: queue_next_ for the injection queue (guarded by its
  // lock) or a strand's waiting line (its lock; a task waits in at most
  // one of them, holding its one run-queue reference);
  // owned_prev_/owned_next_ for the live-task list (its shard lock).
  TaskHeader* queue_next_ = nullptr;
  TaskHeader* owned_prev_ = nullptr;
  TaskHeader* owned_next_ = nullptr;
  uint16_t owned_shard_ = UINT16_MAX;  // OwnedTasks::kNotListed
  const bool joinable_;   // a JoinHandle was created (join_waiter is used)
  const bool resumable_;  // a Resumable (resumable.h), not a coroutine
  bool frame_destroyed_ = false;
  bool cancelled_result_ = false;
  // Set by YieldNow while the task runs, read by EndRun on the same thread:
  // requeue the task without a separate wake (one atomic step, not two).
  bool yield_requested_ = false;

 public:
  // Join protocol: 0 = nobody waiting; kJoinClosed = complete, no more
  // waiters; otherwise a TaskHeader* of the joining task, holding a
  // reference that the completer consumes by waking it. The slot lives
  // in the task's FramePrefix and is constructed only for a joinable task
  // (a spawned coroutine with a JoinHandle); a Resumable has no prefix
  // and pays nothing for it.
  static constexpr uintptr_t kJoinClosed = 1;
  inline std::atomic<uintptr_t>& join_waiter();
};

// The bookkeeping in front of every Task<T> frame (see task.h). A task's
// block is [result slot | FramePrefix | coroutine frame]: the prefix has
// room for a TaskHeader, used only if the task is spawned, and the result
// slot outlives the frame, so a finished task's frame (its locals and
// parameters) is destroyed at once while its result waits for the
// JoinHandle.
struct alignas(16) FramePrefix {
  alignas(TaskHeader) unsigned char header[sizeof(TaskHeader)];
  void* block;  // start of the allocation (the result slot)
  void* frame;  // what operator new returned (checked at spawn)
  void (*destroy_result)(FramePrefix*);  // destroys the slot's contents
  uint32_t block_size;                   // for FreeFrame
  bool spawned;                          // a TaskHeader lives in `header`
  bool free_on_delete;  // the frame's operator delete frees the block
  // TaskHeader::join_waiter(): constructed when a joinable task is
  // spawned (internal::SpawnOn).
  std::atomic<uintptr_t> join_waiter;

  static FramePrefix* Of(void* frame) {
    return reinterpret_cast<FramePrefix*>(static_cast<char*>(frame) -
                                          sizeof(FramePrefix));
  }
  TaskHeader* Header() { return reinterpret_cast<TaskHeader*>(header); }
};

inline std::atomic<uintptr_t>& TaskHeader::join_waiter() {
  // A joinable task's header is its FramePrefix's first member.
  return reinterpret_cast<FramePrefix*>(this)->join_waiter;
}

// An owning reference to a task: a waker. Move-only; Wake() consumes it.
class TaskRef {
 public:
  TaskRef() = default;
  // Adopts a reference the caller already counted.
  static TaskRef Adopt(TaskHeader* task) { return TaskRef(task); }
  // Takes a new reference on a header the caller knows is alive.
  static TaskRef Clone(TaskHeader* task) {
    task->RefInc();
    return TaskRef(task);
  }
  TaskRef(TaskRef&& other) noexcept : task_(std::exchange(other.task_, {})) {}
  TaskRef& operator=(TaskRef&& other) noexcept {
    if (this != &other) {
      Reset();
      task_ = std::exchange(other.task_, nullptr);
    }
    return *this;
  }
  ~TaskRef() { Reset(); }

  void Wake() {
    if (task_ != nullptr) std::exchange(task_, nullptr)->WakeByVal();
  }
  void Reset() {
    if (task_ != nullptr) std::exchange(task_, nullptr)->RefDec();
  }
  TaskHeader* get() const { return task_; }
  TaskHeader* Release() { return std::exchange(task_, nullptr); }
  explicit operator bool() const { return task_ != nullptr; }

 private:
  explicit TaskRef(TaskHeader* task) : task_(task) {}
  TaskHeader* task_ = nullptr;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_TASK_HEADER_H_
