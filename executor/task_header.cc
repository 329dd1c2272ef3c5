#include "executor/task_header.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "executor/frame_allocator.h"
#include "executor/resumable.h"
#include "executor/scheduler.h"
#include "executor/strand.h"

namespace troupe {

// All transitions below are compare-and-swap loops on state_. acq_rel: a
// transition both publishes what its thread did to the task (release) and
// sees what the previous owner did (acquire) - e.g. the resume point set by
// the last run is visible to the next worker that StartRun()s the task.

void TaskHeader::WakeByVal() {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next;
    bool schedule = false;
    if ((s & (kComplete | kScheduled)) != 0) {
      next = s - kRefOne;  // Nothing to do; drop our reference.
    } else if ((s & kRunning) != 0) {
      // Woken while running: the worker requeues it after this run, using
      // the run's own reference. Drop ours.
      next = (s | kScheduled) - kRefOne;
    } else {
      next = s | kScheduled;  // Idle: our reference moves into the queue.
      schedule = true;
    }
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if (schedule) {
        scheduler_->Schedule(this, /*is_yield=*/false);
      } else if ((next >> 16) == 0) {
        Deallocate();
      }
      return;
    }
  }
}

void TaskHeader::WakeByRef() {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next;
    if ((s & (kComplete | kScheduled)) != 0) return;
    if ((s & kRunning) != 0) {
      next = s | kScheduled;
    } else {
      next = (s | kScheduled) + kRefOne;  // a new reference for the queue
    }
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if ((s & kRunning) == 0) scheduler_->Schedule(this, /*is_yield=*/false);
      return;
    }
  }
}

void TaskHeader::Abort() {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & (kComplete | kCancelled)) != 0) return;
    uint64_t next;
    const bool idle = (s & (kRunning | kScheduled)) == 0;
    if (idle) {
      // Parked: schedule it so a worker destroys it promptly.
      next = (s | kCancelled | kScheduled) + kRefOne;
    } else {
      // Running or queued: the worker sees kCancelled at EndRun/StartRun.
      next = s | kCancelled;
    }
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      if (idle) scheduler_->Schedule(this, /*is_yield=*/false);
      return;
    }
  }
}

TaskHeader::RunResult TaskHeader::StartRun() {
  // kScheduled is set and kRunning clear (only a queued task is started,
  // and nobody else clears kScheduled), so one add swaps the two bits
  // whatever other bits concurrent wakers and Abort() set: no CAS loop.
  // acq_rel: acquire the previous run's writes (its EndRun released them).
  const uint64_t prev =
      state_.fetch_add(kRunning - kScheduled, std::memory_order_acq_rel);
  assert((prev & kScheduled) != 0 && (prev & (kRunning | kComplete)) == 0);
  return (prev & kCancelled) != 0 ? RunResult::kCancel : RunResult::kRun;
}

TaskHeader::EndResult TaskHeader::EndRun() {
  // Read and clear before the CAS: once it succeeds another worker may run
  // (or free) the task.
  const bool yielded = std::exchange(yield_requested_, false);
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & kCancelled) != 0) return EndResult::kCancel;  // stays running
    uint64_t next;
    EndResult result;
    if (yielded) {
      next = (s | kScheduled) & ~kRunning;  // the run's ref goes back in
      result = EndResult::kRequeue;
    } else if ((s & kScheduled) != 0) {
      next = s & ~kRunning;  // woken during the run: the ref goes back in
      result = EndResult::kRequeue;
    } else {
      next = (s & ~kRunning) - kRefOne;  // parked; the run's ref is dropped
      result = EndResult::kIdle;
    }
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      // The owned reference outlives every run, so this cannot be the last.
      assert(result == EndResult::kRequeue || (next >> 16) > 0);
      return result;
    }
  }
}

bool TaskHeader::TryClaimIdle() {
  // A strand's member runs only through its strand; another scheduler's
  // task (or a caller outside any task) is not this thread's to run.
  const TaskHeader* current = internal::tls_current_task;
  if (strand_ != nullptr || current == nullptr ||
      current->scheduler_ != scheduler_) {
    return false;
  }
  uint64_t s = state_.load(std::memory_order_relaxed);
  while ((s & kFlagMask) == 0) {
    // acq_rel as StartRun: acquire the last run's writes (its EndRun
    // released them); the failure order only re-reads the flags.
    if (state_.compare_exchange_weak(s, s | kRunning, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

void TaskHeader::EndClaimRun(bool run) {
  uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Woken during the claim (a waker's reference was dropped, as for any
    // running task) or aborted (Abort left it to the end of the run):
    // queue it with a reference of its own, as WakeByRef does.
    const bool requeue = run || (s & (kScheduled | kCancelled)) != 0;
    const uint64_t next =
        requeue ? ((s & ~kRunning) | kScheduled) + kRefOne : s & ~kRunning;
    // acq_rel as EndRun: release the claimant's writes to the next run.
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
      if (requeue) scheduler_->Schedule(this, /*is_yield=*/false);
      return;
    }
  }
}

void TaskHeader::SetComplete() {
  uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t next = (s | kComplete) & ~(kRunning | kScheduled);
    // Release pairs with IsComplete()'s acquire: the result is published.
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
      return;
    }
  }
}

void TaskHeader::CompleteAndRelease(uint64_t n) {
  uint64_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t next =
        ((s | kComplete) & ~(kRunning | kScheduled)) - n * kRefOne;
    if (state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
      if ((next >> 16) == 0) Deallocate();
      return;
    }
  }
}

bool TaskHeader::Resume() {
  // A Resumable runs its Run(), unless a coroutine it started waits
  // (resumable.h, "Hosting a coroutine"): that one is resumed instead.
  if (resumable() && !root_) {
    return RunResumable();
  }
  // An interrupt (a Timeout whose timer fired, say) abandons the region it
  // guards; the outermost triggered one wins, as it contains the others.
  Interrupt* fired = nullptr;
  for (Interrupt* i = interrupts_; i != nullptr; i = i->outer) {
    if (i->Triggered()) fired = i;
  }
  std::coroutine_handle<> handle;
  if (fired != nullptr) {
    interrupts_ = fired->outer;
    parked_ = nullptr;
    handle = fired->Abandon();
  } else if (parked_ == nullptr || parked_->Ready()) {
    parked_ = nullptr;
    handle = resume_;
  } else {
    return false;  // A spurious wake: stay parked.
  }
  resume_ = nullptr;
  handle.resume();
  if (resumable()) {
    // Waiting again, or ended: then Run() goes on from where it started
    // the coroutine.
    return static_cast<Resumable*>(this)->SettleHosted() && RunResumable();
  }
  const bool finished = root_.done();
  if (!finished && resume_ == nullptr) {
    std::fprintf(stderr,
                 "troupe: a task suspended without recording where to resume "
                 "(an awaiter that suspends must call SetResumePoint)\n");
    std::abort();
  }
  return finished;
}

bool TaskHeader::RunResumable() {
  auto* self = static_cast<Resumable*>(this);
  Resumable::RunResult result;
  try {
    result = self->Run();
  } catch (...) {
    // It cannot go on: cancel it (EndRun sees kCancelled; OnCancelled).
    std::fprintf(stderr,
                 "troupe: a Resumable's Run() threw; the task is cancelled\n");
    Abort();
    return false;
  }
  switch (result) {
    case Resumable::RunResult::kIdle:
      return false;
    case Resumable::RunResult::kYield:
      yield_requested_ = true;  // EndRun requeues it at the back
      return false;
    case Resumable::RunResult::kDone:
      return true;
  }
  return false;
}

bool Resumable::SettleHosted() {
  if (root_.done()) {
    root_ = nullptr;
    resume_ = nullptr;
    parked_ = nullptr;
    return true;
  }
  if (resume_ == nullptr) {
    std::fprintf(stderr,
                 "troupe: a hosted coroutine suspended without recording where "
                 "to resume (an awaiter that suspends must call "
                 "SetResumePoint)\n");
    std::abort();
  }
  return false;
}

void TaskHeader::DestroyFrame() {
  if (frame_destroyed_) return;
  frame_destroyed_ = true;
  if (resumable()) {
    // Its "frame" is the object's state: a finished one has nothing to
    // undo; a cancelled one (Abort, shutdown, spawned too late) is told -
    // and OnCancelled destroys the coroutine it hosts, if any (the task
    // only forgets it here).
    root_ = nullptr;
    if (cancelled_result_) static_cast<Resumable*>(this)->OnCancelled();
    return;
  }
  // The frame's operator delete sees `spawned` and keeps the block.
  root_.destroy();
}

void TaskHeader::set_strand(Strand* strand) {
  if (strand != nullptr) strand->Ref();
  strand_ = strand;
}

void TaskHeader::Deallocate() {
  if (strand_ != nullptr) std::exchange(strand_, nullptr)->Unref();
  if (resumable()) {
    // The owner's to free (it may delete the object, header included).
    static_cast<Resumable*>(this)->OnReleased();
    return;
  }
  FramePrefix* prefix = FramePrefix::Of(root_.address());
  const bool frame_alive = !frame_destroyed_;
  const std::coroutine_handle<> root = root_;
  this->~TaskHeader();
  if (frame_alive) {
    // Never started or never finished (a task dropped at shutdown before
    // its frame was destroyed): the frame's operator delete frees it all.
    prefix->free_on_delete = true;
    root.destroy();
    return;
  }
  prefix->destroy_result(prefix);
  internal::FreeFrame(prefix->block, prefix->block_size);
}

void SpawnResumable(Scheduler& scheduler, Resumable* task) {
  scheduler.Spawn(task);
}

}  // namespace troupe
