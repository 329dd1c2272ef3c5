#include "executor/strand.h"

#include <mutex>
#include <utility>

#include "executor/task_header.h"

namespace troupe {

bool Strand::Enter(TaskHeader* task) {
  std::lock_guard<internal::SpinLock> guard(lock_);
  if (owner_ == nullptr) {
    owner_ = task;
    return true;
  }
  if (owner_ == task && handed_) {
    handed_ = false;
    return true;
  }
  // Someone else runs (or this very task is still being let go by the
  // worker that just ran it): wait in line.
  task->queue_next_ = nullptr;
  if (tail_ == nullptr) {
    head_ = task;
  } else {
    tail_->queue_next_ = task;
  }
  tail_ = task;
  return false;
}

TaskHeader* Strand::Leave() {
  std::lock_guard<internal::SpinLock> guard(lock_);
  TaskHeader* next = head_;
  if (next == nullptr) {
    owner_ = nullptr;
    return nullptr;
  }
  head_ = std::exchange(next->queue_next_, nullptr);
  if (head_ == nullptr) tail_ = nullptr;
  owner_ = next;
  handed_ = true;
  return next;
}

void Strand::DropWaiting() {
  TaskHeader* waiting;
  {
    std::lock_guard<internal::SpinLock> guard(lock_);
    waiting = std::exchange(head_, nullptr);
    tail_ = nullptr;
  }
  while (waiting != nullptr) {
    TaskHeader* const next = std::exchange(waiting->queue_next_, nullptr);
    // May be the last reference (a member whose frame step 5 destroyed
    // already): then it is freed now.
    waiting->RefDec();
    waiting = next;
  }
}

}  // namespace troupe
