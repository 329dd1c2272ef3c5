// InjectQueue: the scheduler's global FIFO for tasks scheduled from outside
// a worker (a plain thread, a signal, a timer fired while parking) and for
// local-queue overflow. Intrusive: tasks are linked through their headers.
//
// Threading contract: every method may be called from any thread. Push and
// Pop take a short lock; IsEmpty/Len read an atomic counter without it, so
// workers can skip the lock when there is nothing to take.
//
// After Close() the queue refuses new tasks: Push returns false and drops
// the queue reference each task carried (during shutdown the live-task list
// destroys them); the scheduler drains what was queued before.
//
// Memory ordering: the lock orders pushes and pops. len_ is written under
// the lock with release and read with acquire by the lock-free emptiness
// check, which is only a hint (the lock decides).
//
// Example:
//   InjectQueue queue;
//   queue.Push(task);  // false once closed: the task's queue ref is dropped
//   if (TaskHeader* next = queue.Pop()) Run(next);
#ifndef TROUPE_EXECUTOR_INJECT_QUEUE_H_
#define TROUPE_EXECUTOR_INJECT_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <mutex>

#include "executor/spin_lock.h"
#include "executor/task_header.h"

namespace troupe {

class InjectQueue {
 public:
  InjectQueue() = default;
  InjectQueue(const InjectQueue&) = delete;
  InjectQueue& operator=(const InjectQueue&) = delete;

  bool IsEmpty() const { return len_.load(std::memory_order_acquire) == 0; }
  std::size_t Len() const { return len_.load(std::memory_order_acquire); }

  bool Push(TaskHeader* task) {
    task->queue_next_ = nullptr;
    return PushBatch(task, task, 1);
  }

  // Appends the chain first..last (linked through queue_next_, n tasks).
  // When closed, the tasks are not queued: their queue references are
  // dropped and false is returned.
  bool PushBatch(TaskHeader* first, TaskHeader* last, std::size_t n) {
    std::unique_lock<internal::SpinLock> guard(lock_);
    if (closed_) {
      guard.unlock();
      last->queue_next_ = nullptr;
      for (TaskHeader* t = first; t != nullptr;) {
        TaskHeader* next = t->queue_next_;
        t->RefDec();
        t = next;
      }
      return false;
    }
    last->queue_next_ = nullptr;
    if (tail_ == nullptr) {
      head_ = first;
    } else {
      tail_->queue_next_ = first;
    }
    tail_ = last;
    len_.store(len_.load(std::memory_order_relaxed) + n,
               std::memory_order_release);
    return true;
  }

  TaskHeader* Pop() {
    if (IsEmpty()) return nullptr;
    std::lock_guard<internal::SpinLock> guard(lock_);
    TaskHeader* task = head_;
    if (task == nullptr) return nullptr;
    head_ = task->queue_next_;
    if (head_ == nullptr) tail_ = nullptr;
    task->queue_next_ = nullptr;
    len_.store(len_.load(std::memory_order_relaxed) - 1,
               std::memory_order_release);
    return task;
  }

  // Pops up to `max` tasks as a chain (linked through queue_next_, ending in
  // nullptr). Returns the head; *count receives how many.
  TaskHeader* PopBatch(std::size_t max, std::size_t* count) {
    *count = 0;
    if (IsEmpty() || max == 0) return nullptr;
    std::lock_guard<internal::SpinLock> guard(lock_);
    TaskHeader* first = head_;
    TaskHeader* last = nullptr;
    std::size_t n = 0;
    for (TaskHeader* t = head_; t != nullptr && n < max; t = t->queue_next_) {
      last = t;
      ++n;
    }
    if (n == 0) return nullptr;
    head_ = last->queue_next_;
    if (head_ == nullptr) tail_ = nullptr;
    last->queue_next_ = nullptr;
    len_.store(len_.load(std::memory_order_relaxed) - n,
               std::memory_order_release);
    *count = n;
    return first;
  }

  // Refuses further pushes. Returns whether it was open.
  bool Close() {
    std::lock_guard<internal::SpinLock> guard(lock_);
    const bool was_open = !closed_;
    closed_ = true;
    return was_open;
  }
  bool IsClosed() const {
    std::lock_guard<internal::SpinLock> guard(lock_);
    return closed_;
  }

 private:
  mutable internal::SpinLock lock_;
  TaskHeader* head_ = nullptr;  // guarded by lock_
  TaskHeader* tail_ = nullptr;  // guarded by lock_
  bool closed_ = false;         // guarded by lock_
  std::atomic<std::size_t> len_{0};
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_INJECT_QUEUE_H_
