// ScheduledIo: the reactor's record of one registered file descriptor -
// what the kernel last reported about it (a readiness word) and the tasks
// waiting for that to change (an intrusive list of IoWaiters, each living in
// the awaiting coroutine's frame: waiting allocates nothing).
//
// Readiness word (one 64-bit atomic):
//   bits 0..15   Readiness bits (io_readiness.h).
//   bits 16..63  tick: +1 on every SetReadiness, i.e. on every event the
//                driver dispatches for this descriptor.
//
// The EAGAIN protocol (edge-triggered epoll reports each edge once):
//   1. ev = Load(interest) (or the awaiter's result) - bits and tick;
//   2. run the syscall;
//   3. on EAGAIN: ClearReadiness(interest, ev), then wait.
//   ClearReadiness clears only if the tick is still ev.tick. An edge that
//   the driver dispatched after step 1 bumped the tick, so the clear is
//   skipped and the bit stays set: the caller retries the syscall instead of
//   waiting for an edge that has already come and gone. An edge dispatched
//   after the clear sets the bit again and wakes the waiter. No edge is lost.
//
// Thread contract:
//   SetReadiness   the driver holder only (the thread in IoDriver::Park/Poll).
//   Load, ClearReadiness, AddWaiter, RemoveWaiter, WaiterCount: any thread.
//
// Memory ordering:
//   - The readiness word is updated by CAS loops (acq_rel) and read with
//     acquire. It publishes no data (the bytes are in the kernel); what
//     matters is that no update is lost, which the CAS loops guarantee, and
//     that a waiter cannot miss a wake-up:
//   - The waiter list is guarded by lock_. AddWaiter re-reads the word under
//     the lock before linking; SetReadiness updates the word and then takes
//     the lock to scan. Either AddWaiter's critical section comes first
//     (the scan finds the waiter and wakes it) or the scan's does (then the
//     word was updated before the scan's unlock, which AddWaiter's lock
//     acquires, so AddWaiter sees the bits and does not wait).
//   - A woken waiter is unlinked, its task reference taken and `woken`
//     stored (release) under the lock, `woken` last: once the awaiter sees
//     woken (acquire) the driver never touches the waiter again, so its
//     frame may go away without taking the lock.
//
// Example (what ReadyAwaiter and the sockets in net/ do):
//   for (;;) {
//     ReadyEvent ev = co_await ReadyAwaiter(io, Interest::kRead);
//     ssize_t n = ::recv(fd, buf, len, 0);
//     if (n >= 0 || errno != EAGAIN) return n;
//     io->ClearReadiness(Interest::kRead, ev);
//   }
#ifndef TROUPE_EXECUTOR_IO_SCHEDULED_H_
#define TROUPE_EXECUTOR_IO_SCHEDULED_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>

#include "executor/coop.h"
#include "executor/io_readiness.h"
#include "executor/spin_lock.h"
#include "executor/task_header.h"
#include "executor/yield.h"

namespace troupe {

// One task waiting on a ScheduledIo. Intrusive: lives in the awaiter.
struct IoWaiter {
  IoWaiter* prev = nullptr;    // guarded by the ScheduledIo's lock
  IoWaiter* next = nullptr;    // guarded by the ScheduledIo's lock
  TaskHeader* task = nullptr;  // no reference: the frame keeps it alive
  uint32_t satisfying = 0;     // Readiness bits that end this wait
  bool linked = false;         // guarded by the ScheduledIo's lock
  std::atomic<bool> woken{false};
};

class ScheduledIo {
 public:
  explicit ScheduledIo(uint32_t initial_ready)
      : word_(initial_ready & Readiness::kMask) {}
  ScheduledIo(const ScheduledIo&) = delete;
  ScheduledIo& operator=(const ScheduledIo&) = delete;
  ~ScheduledIo() {
    assert(head_ == nullptr && "waiters left on a ScheduledIo");
  }

  // The bits satisfying `interest` now, with the word's tick.
  ReadyEvent Load(Interest interest) const {
    const uint64_t word = word_.load(std::memory_order_acquire);
    return ReadyEvent{
        static_cast<uint32_t>(word) & Readiness::Satisfying(interest),
        word >> kTickShift};
  }

  // Clears `interest`'s edge bit if no event arrived since `seen` was read.
  void ClearReadiness(Interest interest, const ReadyEvent& seen);

  // Driver only: ORs in `ready` (a new edge), bumps the tick and wakes every
  // waiter the bits now satisfy.
  void SetReadiness(uint32_t ready);

  // Links `waiter` (its task and `satisfying` filled in), unless the word
  // already satisfies it: then returns false and links nothing.
  bool AddWaiter(IoWaiter* waiter);
  // Unlinks `waiter` if the driver has not woken it yet.
  void RemoveWaiter(IoWaiter* waiter);
  // Tasks waiting right now (diagnostics, tests).
  int WaiterCount();

  // The driver's link for its list of deregistered records (IoDriver's
  // release list; guarded by the driver's lock, never touched here).
  ScheduledIo* next_released = nullptr;

 private:
  static constexpr int kTickShift = 16;
  static constexpr uint64_t kBitsMask = (uint64_t{1} << kTickShift) - 1;

  void UnlinkLocked(IoWaiter* waiter);  // lock_ held, waiter linked

  std::atomic<uint64_t> word_;
  internal::SpinLock lock_;
  IoWaiter* head_ = nullptr;  // guarded by lock_
  IoWaiter* tail_ = nullptr;  // guarded by lock_
};

// co_await ReadyAwaiter(io, interest) -> ReadyEvent: completes when `io`'s
// readiness satisfies `interest` (at once if it already does), with the
// snapshot to hand back to ClearReadiness after an EAGAIN. It may also
// complete with no bits set after a cooperative yield (the task's budget was
// spent): the caller's syscall then reports EAGAIN and it waits again.
// Abandoning it (abort, Timeout) unlinks its waiter.
class ReadyAwaiter final : public ParkedAwaiter {
 public:
  ReadyAwaiter(ScheduledIo* io, Interest interest)
      : io_(io), interest_(interest) {}
  ReadyAwaiter(const ReadyAwaiter&) = delete;
  ReadyAwaiter& operator=(const ReadyAwaiter&) = delete;
  ~ReadyAwaiter() {
    if (waiter_.task != nullptr) io_->RemoveWaiter(&waiter_);
  }

  bool await_ready() {
    if (!ConsumeBudget()) {
      yield_ = true;  // out of budget: give the worker away first
      return false;
    }
    return io_->Load(interest_).ready != 0;
  }
  bool await_suspend(std::coroutine_handle<> handle) {
    TaskHeader* self = CurrentTask();
    assert(self != nullptr && "waiting for I/O outside a task");
    if (yield_) {
      // To the back of the run queue, resumed unconditionally.
      YieldNow().await_suspend(handle);
      return true;
    }
    // The resume point is recorded before the waiter becomes visible: the
    // driver may wake the task the moment AddWaiter links it.
    self->SetResumePoint(handle, this);
    waiter_.task = self;
    waiter_.satisfying = Readiness::Satisfying(interest_);
    if (!io_->AddWaiter(&waiter_)) {
      waiter_.task = nullptr;  // became ready meanwhile: don't suspend
      return false;
    }
    return true;
  }
  ReadyEvent await_resume() {
    waiter_.task = nullptr;  // unlinked by the driver (or never linked)
    return io_->Load(interest_);
  }
  bool Ready() override {
    // Acquire pairs with the release store in SetReadiness's wake-up.
    return waiter_.woken.load(std::memory_order_acquire);
  }

 private:
  ScheduledIo* const io_;
  const Interest interest_;
  bool yield_ = false;
  IoWaiter waiter_;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_IO_SCHEDULED_H_
