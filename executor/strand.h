// Strand: a group of tasks of which at most one runs at any moment. Tasks
// of one strand interleave only at their suspension points (co_await),
// never in parallel, so state shared by them alone needs no lock - even on
// the multi-threaded runtime, where they may run on any worker and migrate
// between workers like any other task.
//
// Contract:
//   - SpawnOnStrand(strand, task) spawns `task` as a member of `strand`
//     (membership is for the task's whole life).
//   - A worker about to run a member first enters the strand. If another
//     member is running, the task waits in the strand's FIFO instead (it
//     keeps its place; nothing is lost, nothing runs twice) and is handed
//     the strand when the running member suspends or finishes.
//   - Every member sees the writes of the members that ran before it
//     (the strand's lock orders them).
//   - Lifetime: a strand is reference-counted. Make() returns the owner's
//     reference (a StrandRef); every member holds one until its task is
//     freed, and the worker running a member holds one for the run - so a
//     member may drop the last outside reference (its frame owning the
//     strand's owner, say) while it runs.
//   - Cheap when uncontended: one lock hold to enter and one to leave.
//
// Example:
//   StrandRef strand = Strand::Make();
//   int shared = 0;  // touched only by the members
//   auto bump = [&]() -> Task<void> {
//     for (int i = 0; i < 1000; ++i) { ++shared; co_await YieldNow(); }
//   };
//   JoinHandle<void> a = SpawnOnStrand(*strand, bump());
//   JoinHandle<void> b = SpawnOnStrand(*strand, bump());
//   co_await a; co_await b;  // shared == 2000, no data race
#ifndef TROUPE_EXECUTOR_STRAND_H_
#define TROUPE_EXECUTOR_STRAND_H_

#include <atomic>
#include <cstdint>
#include <utility>

#include "executor/spin_lock.h"

namespace troupe {

class TaskHeader;
class StrandRef;

class Strand {
 public:
  static StrandRef Make();
  Strand(const Strand&) = delete;
  Strand& operator=(const Strand&) = delete;

  // ---- references (any thread) ----
  void Ref() {
    // Relaxed: the caller already holds a reference.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void Unref() {
    // acq_rel: the last holder sees every other holder's writes before
    // the strand is destroyed.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // ---- the scheduler's side (the caller holds a reference) ----
  // True: the caller may run `task` now (it holds the strand until Leave).
  // False: `task`, with the run-queue reference the caller held, now waits
  // in the strand; Leave hands it the strand and returns it to schedule.
  bool Enter(TaskHeader* task);
  // The running member's run is over. Returns the next waiting member
  // (already holding the strand; schedule it, with the reference it
  // carries), or nullptr when none waits.
  TaskHeader* Leave();
  // Runtime shutdown only, once no worker runs: the members waiting in
  // line are dropped from it, with the run-queue reference each carries
  // (their frames are destroyed with the other unfinished tasks).
  void DropWaiting();

 private:
  Strand() = default;
  // Every member holds a reference, so none can be waiting inside a
  // strand that is being destroyed.
  ~Strand() = default;

  std::atomic<uint64_t> refs_{1};
  internal::SpinLock lock_;
  TaskHeader* owner_ = nullptr;  // lock_; the member running or handed to
  bool handed_ = false;          // lock_; owner_ was handed the strand
  TaskHeader* head_ = nullptr;   // lock_; waiting members, linked through
  TaskHeader* tail_ = nullptr;   // lock_;   TaskHeader::queue_next_
};

// One counted reference to a strand (move-only).
class StrandRef {
 public:
  StrandRef() = default;
  explicit StrandRef(Strand* adopted) : strand_(adopted) {}
  StrandRef(StrandRef&& other) noexcept
      : strand_(std::exchange(other.strand_, nullptr)) {}
  StrandRef& operator=(StrandRef&& other) noexcept {
    if (this != &other) {
      Reset();
      strand_ = std::exchange(other.strand_, nullptr);
    }
    return *this;
  }
  ~StrandRef() { Reset(); }
  void Reset() {
    if (strand_ != nullptr) std::exchange(strand_, nullptr)->Unref();
  }
  Strand& operator*() const { return *strand_; }
  Strand* operator->() const { return strand_; }
  Strand* get() const { return strand_; }

 private:
  Strand* strand_ = nullptr;
};

inline StrandRef Strand::Make() { return StrandRef(new Strand()); }

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_STRAND_H_
