// Resumable: a task that is an object, not a coroutine. For a structure
// that keeps its own state between runs and should cost nothing while it
// waits - a mailbox loop, say, where a parked coroutine would keep a frame
// (its header, its locals, every awaiter) for as long as it is idle.
//
// Contract:
//   - Derive from Resumable and implement Run(). A worker calls it each
//     time the task runs; never on two threads at once, and each run
//     happens-after the one before (the task header's state transitions
//     are acq_rel), so the object's state needs no lock of its own.
//     Run() returns:
//       kIdle   park until woken. A wake that came while Run() was going
//               (or comes at any later time) runs it again; so the usual
//               shape is "look for work, register a waiter, look again".
//       kYield  run again after the tasks already queued on this worker.
//       kDone   finished: it never runs again.
//     Run() should not throw: one that does is reported on stderr and the
//     task is cancelled (OnCancelled).
//   - Waking: during Run(), CurrentTask() is this task's header, so the
//     executor's waiters work unchanged (TaskRef::Clone(CurrentTask()), a
//     channel's receive waiter). From anywhere: WakeByRef() on a task the
//     caller knows is alive, or a TaskRef.
//   - Abort() asks the task to stop: at its next turn OnCancelled() runs
//     instead of Run(). The runtime's shutdown does the same for a task
//     not yet done. OnCancelled() runs at most once, never after kDone.
//   - OnReleased() runs once, after the last reference to the task is gone
//     (the live-task list, queued runs, TaskRefs): after kDone or
//     OnCancelled(), and after every wake in flight. The object may delete
//     itself there; nothing touches it afterwards.
//   - Hosting a coroutine: Run() may start a coroutine right there with
//     RunCoroutine(handle) (a lazy coroutine, such as a released Task's).
//     If it runs to its end, RunCoroutine returns true and Run() goes on.
//     If it suspends (its awaiters record their resume point on this task,
//     as in any coroutine task), RunCoroutine returns false and Run() must
//     return kIdle at once: the task then belongs to the coroutine - each
//     wake resumes it (parking, YieldNow and Timeout work as usual) - and
//     Run() is called again only once it has finished. Its frame stays
//     the caller's to destroy (after it finished, or in OnCancelled() if
//     the task is cancelled while it waits). So a structure can run mostly
//     plain code and await only now and then, keeping no frame while it
//     waits for work.
//   - Claiming (TryClaim/EndClaim): code running in another task of the
//     same scheduler may do a turn's work itself, on its own thread, while
//     the task is idle - no queue, no task switch. TryClaim() marks the
//     task running (as a worker does before Run()), so that until
//     EndClaim() no worker runs it, wakes only mark it to run again, and
//     Abort() waits for the end of the claim; the claimant then has the
//     task's exclusive access, and sees everything its last run did. It
//     refuses a task that is queued, running, finished, aborted or on a
//     strand, and a caller that is not a task of the task's scheduler.
//     EndClaim(run) gives the task back: it runs again if `run` says so,
//     or if it was woken or aborted meanwhile. The claimant should not
//     suspend in between (the task can do nothing else until the claim
//     ends) and must leave the task in a state Run() accepts.
//   - Spawn it once, with SpawnResumable. It has no JoinHandle: a
//     Resumable that others wait for tells them itself.
//
// Cost: the header (the size of a TaskHeader) inside the object, nothing
// else; spawning and running allocate nothing.
//
// Example:
//   class Ticker final : public Resumable {
//     RunResult Run() override {
//       if (++ticks_ == 3) return RunResult::kDone;
//       return RunResult::kYield;
//     }
//     void OnCancelled() override {}
//     void OnReleased() override { delete this; }
//     int ticks_ = 0;
//   };
//   SpawnResumable(*Scheduler::Current(), new Ticker);
#ifndef TROUPE_EXECUTOR_RESUMABLE_H_
#define TROUPE_EXECUTOR_RESUMABLE_H_

#include <coroutine>

#include "executor/task_header.h"

namespace troupe {

class Scheduler;

class Resumable : public TaskHeader {
 public:
  enum class RunResult { kIdle, kYield, kDone };

  Resumable() : TaskHeader(TaskHeader::kResumableTag) {}
  Resumable(const Resumable&) = delete;
  Resumable& operator=(const Resumable&) = delete;

  // One turn (see the contract above).
  virtual RunResult Run() = 0;
  // Instead of Run(), once: the task was aborted or the runtime shut down.
  virtual void OnCancelled() = 0;

  // See "Claiming" above. TryClaim is true if the calling thread now holds
  // the task; then EndClaim must follow, without suspending in between.
  bool TryClaim() { return TryClaimIdle(); }
  void EndClaim(bool run) { EndClaimRun(run); }
  // The last reference is gone (the object may delete itself).
  virtual void OnReleased() = 0;

 protected:
  // Not deleted through a Resumable* (OnReleased owns the lifetime).
  virtual ~Resumable() = default;

  // From Run() only: runs `coroutine` until it first suspends or ends
  // (see "Hosting a coroutine"). True if it ended.
  bool RunCoroutine(std::coroutine_handle<> coroutine) {
    root_ = coroutine;  // a Resumable's root_ is its hosted coroutine
    coroutine.resume();
    return SettleHosted();
  }

 private:
  friend class TaskHeader;

  // After the hosted coroutine ran: true if it has ended - then the task
  // forgets it, and any resume point it recorded on the way without
  // suspending (an awaiter that found its event already there), which
  // must not be mistaken for a wait. False if it waits.
  bool SettleHosted();
};

// Schedules `task`'s first run on `scheduler` (called once per task). If
// the scheduler is shut down already, the task is cancelled and released
// at once instead.
void SpawnResumable(Scheduler& scheduler, Resumable* task);

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_RESUMABLE_H_
