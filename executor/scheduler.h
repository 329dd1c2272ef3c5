// Scheduler: runs tasks on a pool of workers that steal from each other.
// It knows tasks (TaskHeader) and nothing above them: no actors, no
// channels, no mailboxes.
//
// Design
// ------
// Each worker owns:
//   - a bounded LocalQueue (256 tasks; one producer, many stealers, steal
//     half), which overflows half of itself into the injection queue;
//   - a LIFO slot holding the task the running task just woke. Message
//     passing wakes the receiver right before the sender suspends, so
//     running it next on the same worker keeps its data in cache. At most
//     kMaxLifoPolls LIFO runs follow one another (and they share the first
//     task's cooperative budget), so two tasks ping-ponging cannot starve
//     the queue;
//   - a Parker: idle workers block in the kernel - on their own futex, or
//     in the shared Driver (timers, I/O) if they win it. They never spin
//     while idle: a worker that runs dry spins at most kParkSpinNs
//     (watching its own queue and the injection queue; its peers' queues
//     only once, at the end, so a busy peer keeps its message-passing
//     pairs on one core) before it parks, because work usually comes back
//     within microseconds and a futex sleep plus wake costs more. Except
//     when sockets are registered and no other worker runs: the next work
//     is then I/O, which only the driver delivers, so it parks at once;
// Shared:
//   - the InjectQueue, where spawns and wake-ups from outside the workers
//     land. A worker looks at it first every kGlobalQueueInterval ticks
//     (fairness: a busy local queue cannot starve it) and whenever its own
//     queue is empty;
//   - Idle: searching/parked bookkeeping. New work wakes a sleeper only if
//     nobody is searching; at most half the workers search at once; the
//     last searcher to give up re-checks for work (see idle.h);
//   - OwnedTasks: every live task, for shutdown.
//
// A worker's loop (one "tick" per task run):
//   1. every kEventInterval ticks: poll the driver (fire due timers);
//   2. next task = (every kGlobalQueueInterval ticks: the injection queue)
//      else LIFO slot, else local queue, else a batch from the injection
//      queue;
//   3. none: become a searcher (if allowed) and steal half of a random
//      victim's queue, visiting victims from a random start;
//   4. still none: park.
//
// Flavours: kMultiThread runs `num_workers` threads. kCurrentThread has
// one worker with no thread of its own: RunUntil() drives it on the
// calling thread (Runtime::BlockOn does this), so every task runs there.
//
// Shutdown protocol (Shutdown(); each step has a test in
// tests/executor/shutdown_test.cc):
//   1. Stop accepting: new spawns are cancelled on the spot (OwnedTasks
//      and the injection queue are closed).
//   2. Wake every worker; each leaves its loop at the next tick (without
//      running what its LIFO slot holds).
//   3. Join the worker threads - on a current-thread runtime, wait for the
//      thread driving it (a BlockOn elsewhere) to let go - so nothing runs
//      tasks any more.
//   4. Drop every queued reference (LIFO slots, local queues, injection
//      queue).
//   5. Destroy every unfinished coroutine frame exactly once: each task
//      still in OwnedTasks is cancelled (its frame destroyed, its joiner
//      told). Destructors that wake or spawn find the scheduler closed.
// ShutdownAfter(deadline) first lets tasks run until none is alive or the
// deadline passes, then performs steps 1-5.
#ifndef TROUPE_EXECUTOR_SCHEDULER_H_
#define TROUPE_EXECUTOR_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "executor/clock.h"
#include "executor/idle.h"
#include "executor/inject_queue.h"
#include "executor/io_driver.h"
#include "executor/local_queue.h"
#include "executor/metrics.h"
#include "executor/owned_tasks.h"
#include "executor/parker.h"
#include "executor/task_header.h"
#include "executor/time_driver.h"

namespace troupe {

enum class Flavor { kMultiThread, kCurrentThread };

struct SchedulerOptions {
  Flavor flavor = Flavor::kMultiThread;
  int num_workers = 1;
  Clock* clock = nullptr;     // nullptr: the system clock
  bool auto_advance = false;  // manual clock, current thread: see clock.h
  std::string thread_name = "troupe-worker";
};

class Scheduler {
 public:
  static constexpr uint32_t kGlobalQueueInterval = 61;
  static constexpr uint32_t kEventInterval = 61;
  static constexpr int kMaxLifoPolls = 3;
  // How long a worker that ran out of work spins before it parks.
  static constexpr uint64_t kParkSpinNs = 20'000;

  explicit Scheduler(SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Launches the worker threads (multi-thread flavour). Idempotent.
  void Start();

  // Adopts a new task: `task` carries the owned and the queue reference
  // (and the JoinHandle's, if any). After shutdown it is cancelled at once.
  void Spawn(TaskHeader* task);

  // Queues a woken task. Consumes the queue reference. Called by
  // TaskHeader::WakeByVal/WakeByRef/Abort.
  void Schedule(TaskHeader* task, bool is_yield);

  // Current-thread flavour: runs the worker on the calling thread until
  // `done` becomes true (checked after every task and every wake-up) or the
  // scheduler shuts down. One thread drives it at a time: while another
  // does, this waits for `done` (the other driver runs every task).
  void RunUntil(const std::atomic<bool>& done);

  // Wakes whoever is waiting in RunUntil or parked, so that they re-check
  // their condition (used by BlockOn's completion).
  void WakeAll();

  // Both throw std::logic_error, changing nothing, when called from inside
  // the runtime (a worker thread, or a task of a current-thread runtime).
  void Shutdown();
  void ShutdownAfter(Instant deadline);
  bool IsShutdown() const { return shutdown_.load(std::memory_order_acquire); }

  // Is the calling thread one of this scheduler's workers?
  bool OnWorkerThread() const;

  TimeDriver& time_driver() { return *time_driver_; }
  IoDriver& io_driver() { return *io_driver_; }
  Clock& clock() const { return *clock_; }
  Flavor flavor() const { return options_.flavor; }
  int num_workers() const { return static_cast<int>(workers_.size()); }
  int64_t TasksAlive() const;
  // Current-thread flavour, from one of its tasks: is nothing else runnable
  // (run queue, LIFO slot and injection queue all empty)? See settle.h.
  bool NothingElseRunnable() const;

  RuntimeMetrics Metrics() const;

  // An opaque back-pointer for the layer that owns this scheduler (the
  // Runtime), so code running in a task can find it.
  void set_owner(void* owner) { owner_ = owner; }
  void* owner() const { return owner_; }

  // The scheduler of the calling thread (a worker, or the thread driving a
  // current-thread runtime), or nullptr.
  static Scheduler* Current();

 private:
  struct Worker;
  struct Context {
    Scheduler* scheduler = nullptr;
    Worker* worker = nullptr;
    // False while the worker is parked or polling its driver: wake-ups
    // then go through the injection queue, which parked workers watch.
    bool core_active = false;
  };
  static Context& Ctx();

  void Maintenance(Worker* w);
  void WorkerLoop(Worker* w);
  bool Tick(Worker* w);  // one iteration; false = nothing to do
  TaskHeader* NextTask(Worker* w);
  TaskHeader* NextLocalTask(Worker* w);
  TaskHeader* StealWork(Worker* w);
  void RunTask(Worker* w, TaskHeader* task);
  // Runs `task` once; a strand member only while it holds its strand.
  void Execute(Worker* w, TaskHeader* task);
  [[gnu::noinline]] void ExecuteInStrand(Worker* w, TaskHeader* task);
  void ExecuteNow(Worker* w, TaskHeader* task);
  void Park(Worker* w);
  bool SpinMayPay() const;
  bool WorkAppearedWhileSpinning(const Worker* w) const;
  bool TransitionToParked(Worker* w);
  bool TransitionFromParked(Worker* w);
  void ScheduleLocal(Worker* w, TaskHeader* task, bool is_yield);
  // ScheduleLocal's other cases: a yield, or the LIFO slot taken.
  [[gnu::noinline]] void QueueLocal(Worker* w, TaskHeader* task, bool is_yield);
  // Out of line, so that Schedule's local case needs no prologue.
  [[gnu::noinline]] void ScheduleRemote(TaskHeader* task);
  void NotifyParked();
  void NotifyIfWorkPending();
  void CancelTask(TaskHeader* task, bool holds_run_ref);
  void FinishTask(TaskHeader* task, bool holds_run_ref);
  void CheckNotInside(const char* what) const;
  void DoShutdown();
  // Current-thread flavour: the right to drive the worker (see driving_).
  bool TryAcquireDriver();
  void ReleaseDriver();
  void DriveUntil(const std::atomic<bool>& done);
  void DriveGracePeriod(Instant deadline);

  SchedulerOptions options_;
  void* owner_ = nullptr;
  Clock* clock_;
  std::unique_ptr<TimeDriver> time_driver_;
  std::unique_ptr<IoDriver> io_driver_;  // wraps time_driver_ (io_driver.h)
  std::unique_ptr<SharedDriver> shared_driver_;
  std::vector<std::unique_ptr<Worker>> workers_;
  InjectQueue inject_;
  Idle idle_;
  OwnedTasks owned_;
  std::atomic<bool> shutdown_{false};
  std::atomic<uint32_t> idle_poll_word_{0};  // ShutdownAfter's sleep
  std::atomic<bool> shutdown_done_{false};
  // Current-thread flavour: 1 while a thread drives the worker (RunUntil,
  // or ShutdownAfter's grace period). At most one does: the worker's
  // queues have a single owner. Shutdown's step 3 waits for it to drop to
  // 0 (a futex word: ReleaseDriver wakes the waiters).
  std::atomic<uint32_t> driving_{0};
  std::atomic<bool> started_{false};
  // Spawns and completions on threads that are not workers (each worker
  // counts its own).
  std::atomic<int64_t> spawned_outside_{0};
  std::atomic<int64_t> completed_outside_{0};
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_SCHEDULER_H_
