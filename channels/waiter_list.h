// WaiterList: the receivers parked on a broadcast channel or a watch cell -
// an intrusive list of waiters that are woken all at once.
//
// Contract:
//   - Not thread-safe: the owning channel guards the list, and every
//     waiter's links, with its lock.
//   - A ListWaiter lives in the waiting coroutine frame (or on a blocked
//     thread's stack): parking allocates nothing.
//   - WakeAllAndUnlock() hands every listed waiter a wake-up. Wake-ups (which
//     may enter the kernel) run with the lock released, in batches of
//     kWakeBatch, so a channel with thousands of waiters never holds its
//     lock across thousands of wake-ups.
//   - A waiter that gives up (an abandoned wait: its task aborted, a losing
//     select branch) calls Remove() under the lock. That works wherever the
//     waiter is at that moment - on the channel's list, or on the list a
//     waker has taken aside but not finished yet - because the list is
//     circular around a sentinel: unlinking needs only the neighbours.
//
// Memory ordering: `notified` is stored (release) under the lock by the
//   waker, after it took the waiter off the list and prepared its Waker
//   (a task reference, see waker.h); it is the waker's last touch of the
//   waiter. A waiter that loads it (acquire) as true may therefore be
//   destroyed without taking the lock; one that loads false must take the
//   lock and Remove() itself.
//
// Example (inside a channel, `mu_` guarding `waiters_`):
//   std::unique_lock<std::mutex> guard(mu_);
//   ...publish the new state...
//   WakeAllAndUnlock(guard, waiters_);
#ifndef TROUPE_CHANNELS_WAITER_LIST_H_
#define TROUPE_CHANNELS_WAITER_LIST_H_

#include <atomic>
#include <cassert>
#include <mutex>

#include "channels/waker.h"

namespace troupe::internal {

struct WaiterLink {
  WaiterLink* prev = nullptr;  // guarded by the owner's lock
  WaiterLink* next = nullptr;  // guarded by the owner's lock
};

struct ListWaiter : WaiterLink {
  WaitTarget target;
  std::atomic<bool> notified{false};
};

class WaiterList {
 public:
  static constexpr int kWakeBatch = 16;

  WaiterList() { head_.prev = head_.next = &head_; }
  WaiterList(const WaiterList&) = delete;
  WaiterList& operator=(const WaiterList&) = delete;
  ~WaiterList() { assert(empty() && "a WaiterList destroyed with waiters"); }

  bool empty() const { return head_.next == &head_; }

  void PushBack(ListWaiter* w) {
    w->notified.store(false, std::memory_order_relaxed);
    w->prev = head_.prev;
    w->next = &head_;
    head_.prev->next = w;
    head_.prev = w;
  }

  // Unlinks `w` unless a waker already took it. Returns true if it was
  // still listed (its wake-up will not come).
  static bool Remove(ListWaiter* w) {
    if (w->notified.load(std::memory_order_relaxed)) return false;
    Unlink(w);
    return true;
  }

  // Moves every waiter of `other` to the end of this list.
  void TakeAll(WaiterList& other) {
    if (other.empty()) return;
    WaiterLink* first = other.head_.next;
    WaiterLink* last = other.head_.prev;
    other.head_.prev = other.head_.next = &other.head_;
    first->prev = head_.prev;
    last->next = &head_;
    head_.prev->next = first;
    head_.prev = last;
  }

  // Takes up to `max` waiters from the front, turning each into a Waker in
  // `out` and marking it notified. Returns how many.
  int TakeBatch(Waker* out, int max) {
    int n = 0;
    while (n < max && !empty()) {
      auto* w = static_cast<ListWaiter*>(head_.next);
      Unlink(w);
      out[n++] = Waker::Prepare(&w->target);
      // Last touch of `w` (see the file comment).
      w->notified.store(true, std::memory_order_release);
    }
    return n;
  }

 private:
  static void Unlink(WaiterLink* w) {
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = nullptr;
  }

  WaiterLink head_;  // the sentinel
};

// With `guard` holding the lock that guards `list`: wakes every waiter on
// it and returns with the lock released. The waiters are first moved to a
// list on this stack frame; each batch is taken under the lock and woken
// outside it, until that list is empty. Waiters parked meanwhile are left
// for the next waker.
template <typename Mutex>
void WakeAllAndUnlock(std::unique_lock<Mutex>& guard, WaiterList& list) {
  WaiterList taken;
  taken.TakeAll(list);
  Waker batch[WaiterList::kWakeBatch];
  for (;;) {
    const int n = taken.TakeBatch(batch, WaiterList::kWakeBatch);
    guard.unlock();
    for (int i = 0; i < n; ++i) batch[i].Wake();
    if (n < WaiterList::kWakeBatch) return;  // `taken` was emptied
    guard.lock();
  }
}

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_WAITER_LIST_H_
