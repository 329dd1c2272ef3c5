// Idle: which workers are searching for work and which are parked, so that
// new work wakes exactly one sleeper, and only when nobody is already
// looking for it.
//
// State (one atomic word): num_searching (low 16 bits) and num_unparked
// (bits 16..31). The parked set (`sleepers_`) is a small array under a lock.
//
// Rules (the same as Tokio's; written out here because every one matters):
//   1. At most half the workers search at once (TransitionToSearching says
//      no beyond that): stealing is not free, and a herd of searchers on two
//      cores steals CPU from the worker that has the work.
//   2. New work calls NotifyOne(): if some worker is searching it will find
//      the work, so nobody is woken; otherwise one sleeper is unparked and
//      counted as searching before it runs.
//   3. The last searcher to stop searching (TransitionFromSearching or
//      TransitionToParked returning true) must check the queues again and
//      wake another worker if it finds work: rule 2 skipped the wake while
//      it was searching.
//   4. A worker woken without having been picked from `sleepers_` (a
//      spurious or driver wake-up) is still parked in the books:
//      IsParked() tells it to park again.
//
// Memory ordering: the state word is accessed with seq_cst. Rule 2/3 form a
// Dekker pattern with the run queues: a producer pushes a task and then
// reads num_searching; a searcher decrements num_searching and then reads
// the queues. seq_cst on both sides (and the read-modify-write in
// NotifyShouldWakeup) guarantees at least one of them sees the other's write,
// so no work is stranded.
#ifndef TROUPE_EXECUTOR_IDLE_H_
#define TROUPE_EXECUTOR_IDLE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace troupe {

class Idle {
 public:
  explicit Idle(int num_workers);

  // Returns the worker to unpark for new work, or -1 (rule 2). The chosen
  // worker is already counted as unparked and searching.
  int WorkerToNotify();
  // The same, for work the calling worker queued on its own run queue. Such
  // work is never stranded - the caller runs it itself if nobody steals it -
  // so a wake-up here only buys parallelism, and the common case (every
  // worker already awake, or someone searching) is decided by a relaxed
  // load that keeps the shared word in both workers' caches instead of a
  // read-modify-write that bounces it on every spawn and yield. A stale
  // read can at worst skip one wake-up; the next local schedule or the
  // next searcher sees the fresh value.
  int WorkerToNotifyForLocalWork();

  // Rule 1. The caller was not searching.
  bool TransitionToSearching();
  // The caller was searching and found work or gave up. Returns true if it
  // was the last searcher (rule 3).
  bool TransitionFromSearching();
  // The caller parks. Returns true if it was the last searcher (rule 3).
  bool TransitionToParked(int worker, bool is_searching);
  // Rule 4: is the worker still in the parked set?
  bool IsParked(int worker);
  // Removes a worker that woke on its own (a task in its LIFO slot, for
  // example) from the parked set. Returns true if it was there.
  bool UnparkWorkerById(int worker);

  int NumSearching() const {
    return static_cast<int>(state_.load(std::memory_order_seq_cst) &
                            kSearchMask);
  }
  int NumUnparked() const {
    return static_cast<int>(state_.load(std::memory_order_seq_cst) >>
                            kUnparkShift);
  }

 private:
  static constexpr uint32_t kSearchMask = 0xffff;
  static constexpr uint32_t kUnparkShift = 16;
  static constexpr uint32_t kUnparkOne = 1u << kUnparkShift;

  bool NotifyShouldWakeup();

  const int num_workers_;
  std::atomic<uint32_t> state_;
  std::mutex mu_;
  std::vector<int> sleepers_;  // guarded by mu_; reserved, never reallocates
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_IDLE_H_
