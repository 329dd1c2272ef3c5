#include "executor/scheduler.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

#include "executor/coop.h"
#include "executor/futex.h"
#include "executor/poll_end.h"
#include "executor/spin_lock.h"
#include "executor/strand.h"

namespace troupe {
namespace {

uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
}

// Relaxed add for counters written by one thread and read by snapshots.
void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}

// Spawns made by this thread outside any runtime (rotates its owned-task
// shard).
thread_local uint32_t tls_outside_spawns = 0;

}  // namespace

struct Scheduler::Worker {
  Worker(int i, SharedDriver* shared, uint64_t seed)
      : index(i), parker(shared), rng(seed | 1) {}

  uint32_t NextRandom() {
    // xorshift64*: cheap, good enough to pick a steal victim.
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return static_cast<uint32_t>((rng * 0x2545F4914F6CDD1DULL) >> 32);
  }

  const int index;
  LocalQueue<> queue;
  TaskHeader* lifo = nullptr;  // owner only
  Parker parker;
  bool is_searching = false;   // owner only
  uint32_t tick = 0;           // owner only
  uint64_t rng;                // owner only
  uint64_t busy_since_ns = 0;  // owner only
  std::thread thread;

  // Written only by the owner (relaxed), read by Metrics().
  alignas(64) std::atomic<uint64_t> tasks_run{0};
  std::atomic<uint64_t> steal_operations{0};
  std::atomic<uint64_t> tasks_stolen{0};
  std::atomic<uint64_t> parks{0};
  std::atomic<uint64_t> spins{0};
  std::atomic<uint64_t> lifo_runs{0};
  std::atomic<uint64_t> overflows{0};
  std::atomic<uint64_t> busy_ns{0};
  std::atomic<uint64_t> spawned{0};
  std::atomic<uint64_t> completed{0};
};

Scheduler::Context& Scheduler::Ctx() {
  thread_local Context context;
  return context;
}

Scheduler* Scheduler::Current() { return Ctx().scheduler; }

Scheduler::Scheduler(SchedulerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock::Get()),
      time_driver_(std::make_unique<TimeDriver>(clock_)),
      io_driver_(std::make_unique<IoDriver>(time_driver_.get())),
      shared_driver_(std::make_unique<SharedDriver>(io_driver_.get())),
      idle_(options_.flavor == Flavor::kCurrentThread
                ? 1
                : std::max(1, options_.num_workers)),
      owned_(static_cast<uint32_t>(std::max(1, options_.num_workers))) {
  const int n = options_.flavor == Flavor::kCurrentThread
                    ? 1
                    : std::max(1, options_.num_workers);
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, shared_driver_.get(), NowNs() ^ (0x9E3779B97F4A7C15ULL * (i + 1))));
  }
}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Start() {
  if (options_.flavor == Flavor::kCurrentThread) return;
  if (started_.exchange(true)) return;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] { WorkerLoop(w); });
    const std::string name =
        (options_.thread_name + "-" + std::to_string(w->index)).substr(0, 15);
    pthread_setname_np(w->thread.native_handle(), name.c_str());
  }
}

bool Scheduler::OnWorkerThread() const {
  const Context& c = Ctx();
  return c.scheduler == this && c.worker != nullptr;
}

// ---- spawning and scheduling ----------------------------------------------

void Scheduler::Spawn(TaskHeader* task) {
  task->scheduler_ = this;
  Context& c = Ctx();
  Worker* w = c.scheduler == this ? c.worker : nullptr;
  const uint32_t shard =
      owned_.ShardFor(w != nullptr ? w->index : -1, tls_outside_spawns++);
  if (!owned_.Insert(task, shard)) {
    // Shut down (step 1): the task never runs. It was never listed, so drop
    // the owned reference here; CancelTask drops the queue reference.
    task->RefDec();
    CancelTask(task, /*holds_run_ref=*/true);
    return;
  }
  if (w != nullptr) {
    Bump(w->spawned);
  } else {
    spawned_outside_.fetch_add(1, std::memory_order_relaxed);
  }
  Schedule(task, /*is_yield=*/false);
}

void Scheduler::Schedule(TaskHeader* task, bool is_yield) {
  Context& c = Ctx();
  if (c.scheduler == this && c.core_active) {
    ScheduleLocal(c.worker, task, is_yield);
  } else {
    ScheduleRemote(task);
  }
}

void Scheduler::ScheduleLocal(Worker* w, TaskHeader* task, bool is_yield) {
  // The common case, a wake into an empty LIFO slot, stays small: queueing
  // and notifying are out of line (QueueLocal).
  if (!is_yield && w->lifo == nullptr) [[likely]] {
    w->lifo = task;
    return;
  }
  QueueLocal(w, task, is_yield);
}

void Scheduler::QueueLocal(Worker* w, TaskHeader* task, bool is_yield) {
  if (is_yield) {
    Bump(w->overflows, w->queue.PushBack(task, inject_));
  } else {
    TaskHeader* const prev = std::exchange(w->lifo, task);
    Bump(w->overflows, w->queue.PushBack(prev, inject_));
  }
  // Work another worker could take: make sure someone is looking. (Only
  // for parallelism: this worker runs the task itself if nobody steals it.)
  if (options_.flavor == Flavor::kMultiThread) {
    const int worker = idle_.WorkerToNotifyForLocalWork();
    if (worker >= 0) {
      workers_[static_cast<std::size_t>(worker)]->parker.Unpark();
    }
  }
}

void Scheduler::ScheduleRemote(TaskHeader* task) {
  if (!inject_.Push(task)) return;  // Shut down: the reference is dropped.
  if (options_.flavor == Flavor::kCurrentThread) {
    workers_[0]->parker.Unpark();
  } else {
    NotifyParked();
  }
}

void Scheduler::NotifyParked() {
  const int worker = idle_.WorkerToNotify();
  if (worker >= 0) workers_[static_cast<std::size_t>(worker)]->parker.Unpark();
}

void Scheduler::NotifyIfWorkPending() {
  for (auto& w : workers_) {
    if (!w->queue.IsEmpty()) {
      NotifyParked();
      return;
    }
  }
  if (!inject_.IsEmpty()) NotifyParked();
}

void Scheduler::WakeAll() {
  for (auto& w : workers_) w->parker.Unpark();
}

// ---- the worker loop -------------------------------------------------------

void Scheduler::WorkerLoop(Worker* w) {
  Ctx() = Context{this, w, true};
  w->busy_since_ns = NowNs();
  while (!shutdown_.load(std::memory_order_acquire)) {
    if (!Tick(w)) Park(w);
  }
  Bump(w->busy_ns, NowNs() - w->busy_since_ns);
  Ctx() = Context{};
}

bool Scheduler::Tick(Worker* w) {
  ++w->tick;
  if (w->tick % kEventInterval == 0) Maintenance(w);
  TaskHeader* task = NextTask(w);
  if (task == nullptr) task = StealWork(w);
  if (task == nullptr) return false;
  RunTask(w, task);
  return true;
}

void Scheduler::Maintenance(Worker* w) {
  Context& c = Ctx();
  c.core_active = false;
  w->parker.PollDriver();
  c.core_active = true;
}

TaskHeader* Scheduler::NextLocalTask(Worker* w) {
  if (w->lifo != nullptr) return std::exchange(w->lifo, nullptr);
  return w->queue.Pop();
}

TaskHeader* Scheduler::NextTask(Worker* w) {
  if (w->tick % kGlobalQueueInterval == 0) {
    if (TaskHeader* task = inject_.Pop()) return task;
  }
  if (TaskHeader* task = NextLocalTask(w)) return task;
  if (inject_.IsEmpty()) return nullptr;
  // Take a fair share of the injection queue into the local queue, so the
  // next few ticks need no lock.
  const std::size_t room = w->queue.Capacity() - w->queue.Len();
  std::size_t n = inject_.Len() / workers_.size() + 1;
  n = std::min({n, room, std::size_t{w->queue.Capacity() / 2}});
  std::size_t got = 0;
  TaskHeader* first = inject_.PopBatch(n, &got);
  if (first == nullptr) return nullptr;
  for (TaskHeader* t = first->queue_next_; t != nullptr;) {
    TaskHeader* next = t->queue_next_;
    t->queue_next_ = nullptr;
    w->queue.PushBack(t, inject_);
    t = next;
  }
  first->queue_next_ = nullptr;
  return first;
}

TaskHeader* Scheduler::StealWork(Worker* w) {
  if (workers_.size() > 1) {
    if (!w->is_searching) {
      if (!idle_.TransitionToSearching()) return nullptr;
      w->is_searching = true;
    }
    const std::size_t n = workers_.size();
    const std::size_t start = w->NextRandom() % n;
    for (std::size_t i = 0; i < n; ++i) {
      Worker* victim = workers_[(start + i) % n].get();
      if (victim == w) continue;
      TaskHeader* task = victim->queue.StealInto(w->queue);
      if (task != nullptr) {
        Bump(w->steal_operations);
        Bump(w->tasks_stolen, 1 + w->queue.Len());
        return task;
      }
    }
  }
  return inject_.Pop();
}

void Scheduler::RunTask(Worker* w, TaskHeader* task) {
  if (w->is_searching) {
    w->is_searching = false;
    // The last searcher found work: wake another to keep looking (rule 3).
    if (idle_.TransitionFromSearching()) NotifyParked();
  }
  internal::tls_budget = kDefaultBudget;
  Execute(w, task);
  int lifo_polls = 0;
  while (TaskHeader* next = w->lifo) {
    // Shutting down: leave it in the slot for step 4 to drop unrun.
    if (shutdown_.load(std::memory_order_acquire)) break;
    w->lifo = nullptr;
    if (!HasBudget() || ++lifo_polls > kMaxLifoPolls) {
      // Out of budget or LIFO turns: to the back of the queue, so other
      // tasks run first.
      Bump(w->overflows, w->queue.PushBack(next, inject_));
      // Only worth waking a sleeper if something besides the task we run
      // next is queued.
      if (options_.flavor == Flavor::kMultiThread && w->queue.Len() > 1) {
        NotifyParked();
      }
      break;
    }
    Bump(w->lifo_runs);
    Execute(w, next);
  }
  internal::tls_budget = INT_MAX;
}

void Scheduler::Execute(Worker* w, TaskHeader* task) {
  // A tail call either way: no frame of its own on the common path.
  if (task->strand() == nullptr) [[likely]] {
    ExecuteNow(w, task);
    return;
  }
  ExecuteInStrand(w, task);
}

void Scheduler::ExecuteInStrand(Worker* w, TaskHeader* task) {
  Strand* const strand = task->strand();
  // A strand member runs only while it holds the strand; otherwise it
  // waits inside the strand (with its reference) until handed it.
  if (!strand->Enter(task)) return;
  // The run's own reference: finishing `task` may drop the last other one
  // (its frame may own whatever owns the strand).
  strand->Ref();
  ExecuteNow(w, task);  // may free `task`: not touched below
  if (TaskHeader* next = strand->Leave()) {
    ScheduleLocal(w, next, /*is_yield=*/true);
  }
  strand->Unref();
}

void Scheduler::ExecuteNow(Worker* w, TaskHeader* task) {
  if (task->StartRun() == TaskHeader::RunResult::kCancel) {
    CancelTask(task, /*holds_run_ref=*/true);
    return;
  }
  internal::tls_current_task = task;
  internal::BeginPoll();
  const bool returned = task->Resume();
  internal::EndPoll();  // before the task can run anywhere else
  internal::tls_current_task = nullptr;
  Bump(w->tasks_run);
  if (returned) {
    FinishTask(task, /*holds_run_ref=*/true);
    return;
  }
  switch (task->EndRun()) {
    case TaskHeader::EndResult::kIdle:
      return;
    case TaskHeader::EndResult::kRequeue:
      ScheduleLocal(w, task, /*is_yield=*/true);
      return;
    case TaskHeader::EndResult::kCancel:
      CancelTask(task, /*holds_run_ref=*/true);
      return;
  }
}

void Scheduler::CancelTask(TaskHeader* task, bool holds_run_ref) {
  task->cancelled_result_ = true;
  FinishTask(task, holds_run_ref);
}

void Scheduler::FinishTask(TaskHeader* task, bool holds_run_ref) {
  {
    // Destroy the frame now - a finished task's parameters and what is left
    // of it, or a cancelled task's locals and every awaited Task below it
    // (awaiters deregister themselves from whatever they waited on). The
    // result stays in the block's result slot. (A cancelled Resumable is
    // told instead: OnCancelled.)
    TaskHeader* const outer = internal::tls_current_task;
    internal::tls_current_task = task;
    task->DestroyFrame();
    internal::tls_current_task = outer;
  }
  Context& c = Ctx();
  if (c.scheduler == this && c.worker != nullptr) {
    Bump(c.worker->completed);
  } else {
    completed_outside_.fetch_add(1, std::memory_order_relaxed);
  }
  const uint64_t refs = (owned_.Remove(task) ? 1 : 0) + (holds_run_ref ? 1 : 0);
  if (!task->joinable_) {
    // Nobody can be waiting: complete and drop our references in one step.
    task->CompleteAndRelease(refs);
    return;
  }
  // Release: the result (or the cancellation) is visible to whoever
  // observes kComplete with acquire. Our references keep the header alive
  // while we wake the joiner.
  task->SetComplete();
  const uintptr_t waiter = task->join_waiter().exchange(
      TaskHeader::kJoinClosed, std::memory_order_acq_rel);
  if (waiter > TaskHeader::kJoinClosed) {
    // The join slot holds a TaskHeader* as an integer (tagged with
    // kJoinClosed); this turns it back.
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    auto* joiner = reinterpret_cast<TaskHeader*>(waiter);
    TaskRef::Adopt(joiner).Wake();
  }
  task->RefDec(refs);
}

// ---- parking ---------------------------------------------------------------

bool Scheduler::WorkAppearedWhileSpinning(const Worker* w) const {
  // While spinning, look only at work meant for this worker: its own queue
  // and LIFO slot (a task it woke, or one pushed back to it) and the
  // injection queue. Another worker's queue is looked at once, at the end:
  // stealing the instant a busy peer queues a task would split the two
  // sides of a channel across cores, and every message would then move a
  // cache line; a peer whose queue stays non-empty for the whole spin has
  // more than it can run, and then stealing pays.
  const uint64_t start = NowNs();
  for (int i = 1;; ++i) {
    if (!inject_.IsEmpty() || w->lifo != nullptr || !w->queue.IsEmpty()) {
      return true;
    }
    internal::CpuRelax();
    if (i % 16 == 0 && NowNs() - start > kParkSpinNs) break;
  }
  for (const auto& other : workers_) {
    if (other.get() != w && !other->queue.IsEmpty()) return true;
  }
  return false;
}

bool Scheduler::SpinMayPay() const {
  // Sockets registered and no other worker running: the work to come is
  // I/O, which reaches the queues only through the driver - and the driver
  // is driven by a parked worker, i.e. by this one once it parks (its
  // epoll_wait returns at once if readiness is pending). Spinning would
  // only delay that and burn the CPU. A worker that is still running may
  // hand over work within microseconds, and without sockets the spin waits
  // for other threads (spawns, wake-ups from outside) as before.
  // The caller still counts itself as unparked, hence "> 1". A stale
  // answer costs one spin or one early park, never correctness: both paths
  // end up looking at the queues again.
  return io_driver_->Registrations() == 0 || idle_.NumUnparked() > 1;
}

void Scheduler::Park(Worker* w) {
  // A worker that just ran dry usually gets work again within microseconds
  // (the other side of a channel refills its queue): a short bounded spin
  // here costs less than the futex sleep and wake-up - and, because the
  // spinner still counts as unparked, wakers skip their futex call too.
  // Bounded, and only on the way to parking: an idle runtime stays at ~0%.
  if (options_.flavor == Flavor::kMultiThread && SpinMayPay()) {
    Bump(w->spins);
    if (WorkAppearedWhileSpinning(w)) return;
  }
  if (!TransitionToParked(w)) return;
  Context& c = Ctx();
  while (!shutdown_.load(std::memory_order_acquire)) {
    const uint64_t now = NowNs();
    Bump(w->busy_ns, now - w->busy_since_ns);
    Bump(w->parks);
    c.core_active = false;
    w->parker.Park();
    c.core_active = true;
    w->busy_since_ns = NowNs();
    if (TransitionFromParked(w)) return;
  }
}

bool Scheduler::TransitionToParked(Worker* w) {
  if (w->lifo != nullptr || !w->queue.IsEmpty()) return false;
  const bool last_searcher =
      idle_.TransitionToParked(w->index, w->is_searching);
  w->is_searching = false;
  if (last_searcher) NotifyIfWorkPending();
  return true;
}

bool Scheduler::TransitionFromParked(Worker* w) {
  // Still in the parked set: nobody picked us (a timer or spurious wake);
  // the wake-ups that matter went through NotifyParked, which picks a
  // sleeper. Park again.
  if (idle_.IsParked(w->index)) return false;
  // Picked by NotifyParked: we are counted as searching.
  w->is_searching = true;
  return true;
}

// ---- current-thread driving ------------------------------------------------

bool Scheduler::TryAcquireDriver() {
  uint32_t expected = 0;
  // Acquire pairs with ReleaseDriver: the previous driver's work on the
  // worker's queues is visible to the next.
  return driving_.compare_exchange_strong(
      expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
}

void Scheduler::ReleaseDriver() {
  driving_.store(0, std::memory_order_release);
  internal::FutexWake(&driving_, INT_MAX);
}

void Scheduler::RunUntil(const std::atomic<bool>& done) {
  // One driver at a time. Another thread may hold the worker (a
  // ShutdownTimeout's grace period): it runs our task too, so wait for
  // `done`, for shutdown, or for the worker to come free.
  while (!TryAcquireDriver()) {
    if (done.load(std::memory_order_acquire) ||
        shutdown_.load(std::memory_order_acquire)) {
      return;
    }
    internal::FutexWait(&driving_, 1, std::chrono::milliseconds(1));
  }
  DriveUntil(done);
  ReleaseDriver();
}

void Scheduler::DriveUntil(const std::atomic<bool>& done) {
  Worker* w = workers_[0].get();
  Context& c = Ctx();
  const Context saved = c;
  c = Context{this, w, true};
  while (!done.load(std::memory_order_acquire) &&
         !shutdown_.load(std::memory_order_acquire)) {
    ++w->tick;
    if (w->tick % kEventInterval == 0) Maintenance(w);
    if (TaskHeader* task = NextTask(w)) {
      RunTask(w, task);
      continue;
    }
    if (done.load(std::memory_order_acquire)) break;
    c.core_active = false;
    if (options_.auto_advance && clock_->IsManual()) {
      // Deterministic test mode: nothing is runnable, so jump the clock to
      // the next timer instead of sleeping.
      if (auto next = time_driver_->NextDeadline(); next.has_value()) {
        static_cast<ManualClock*>(clock_)->AdvanceTo(*next);
        w->parker.PollDriver();
        c.core_active = true;
        continue;
      }
    }
    Bump(w->parks);
    w->parker.Park();
    c.core_active = true;
  }
  c = saved;
}

// ---- shutdown --------------------------------------------------------------

void Scheduler::CheckNotInside(const char* what) const {
  // Checked before any state changes, so a refused call leaves the
  // scheduler as it was (and shutting it down from outside still works).
  if (OnWorkerThread()) {
    throw std::logic_error(
        std::string("troupe: ") + what +
        " called from inside the runtime (a worker thread, or the thread "
        "driving a current-thread runtime): it would join or destroy the "
        "task calling it; shut the runtime down from outside");
  }
}

void Scheduler::Shutdown() {
  CheckNotInside("Shutdown");
  if (shutdown_done_.exchange(true)) return;
  DoShutdown();
}

void Scheduler::ShutdownAfter(Instant deadline) {
  CheckNotInside("ShutdownTimeout");
  if (shutdown_done_.load()) return;
  while (TasksAlive() > 0 && clock_->Now() < deadline) {
    if (options_.flavor == Flavor::kCurrentThread && TryAcquireDriver()) {
      // Nobody else drives the worker: drive it here until every task is
      // done or the deadline passes.
      DriveGracePeriod(deadline);
      ReleaseDriver();
      continue;
    }
    // The workers - or a BlockOn driving the current-thread worker on
    // another thread - run the tasks meanwhile.
    internal::FutexWait(&idle_poll_word_, 0, std::chrono::milliseconds(1));
  }
  Shutdown();
}

void Scheduler::DriveGracePeriod(Instant deadline) {
  Worker* w = workers_[0].get();
  Context& c = Ctx();
  const Context saved = c;
  c = Context{this, w, true};
  while (TasksAlive() > 0 && clock_->Now() < deadline) {
    ++w->tick;
    if (w->tick % kEventInterval == 0) Maintenance(w);
    if (TaskHeader* task = NextTask(w)) {
      RunTask(w, task);
      continue;
    }
    c.core_active = false;
    w->parker.Park(deadline - clock_->Now());
    c.core_active = true;
  }
  c = saved;
}

void Scheduler::DoShutdown() {
  // Step 1: stop accepting.
  shutdown_.store(true, std::memory_order_release);
  owned_.Close();
  inject_.Close();
  // Step 2: wake every worker.
  WakeAll();
  // Step 3: join the threads. A current-thread worker has no thread: wait
  // instead until whoever drives it (a BlockOn on another thread) has seen
  // the shutdown and let go.
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  while (driving_.load(std::memory_order_acquire) != 0) {
    internal::FutexWait(&driving_, 1, std::nullopt);
  }
  // Step 4: drop queued references. No worker runs any more, so this
  // thread may act as every queue's owner.
  for (auto& w : workers_) {
    if (w->lifo != nullptr) std::exchange(w->lifo, nullptr)->RefDec();
    while (TaskHeader* task = w->queue.Pop()) task->RefDec();
  }
  while (TaskHeader* task = inject_.Pop()) task->RefDec();
  // Step 5: destroy every unfinished frame exactly once. A strand member
  // waiting in its strand's line holds a run-queue reference there: the
  // line is dropped first (every member of a strand is listed here).
  while (TaskHeader* task = owned_.PopAny()) {
    if (Strand* strand = task->strand()) strand->DropWaiting();
    task->cancelled_result_ = true;
    // FinishTask's Remove finds it unlisted: drop the owned reference
    // (which PopAny handed us) explicitly afterwards.
    FinishTask(task, /*holds_run_ref=*/false);
    task->RefDec();
  }
  time_driver_->Close();
}

// ---- metrics ---------------------------------------------------------------

bool Scheduler::NothingElseRunnable() const {
  const Worker& w = *workers_.front();
  return w.lifo == nullptr && w.queue.IsEmpty() && inject_.IsEmpty();
}

int64_t Scheduler::TasksAlive() const {
  int64_t spawned = spawned_outside_.load(std::memory_order_relaxed);
  int64_t completed = completed_outside_.load(std::memory_order_relaxed);
  for (const auto& w : workers_) {
    spawned += static_cast<int64_t>(w->spawned.load(std::memory_order_relaxed));
    completed +=
        static_cast<int64_t>(w->completed.load(std::memory_order_relaxed));
  }
  return spawned - completed;
}

RuntimeMetrics Scheduler::Metrics() const {
  RuntimeMetrics m;
  m.num_workers = static_cast<int>(workers_.size());
  m.tasks_spawned = spawned_outside_.load(std::memory_order_relaxed);
  m.inject_queue_depth = inject_.Len();
  m.timers_pending = time_driver_->PendingTimers();
  for (const auto& w : workers_) {
    WorkerMetrics wm;
    wm.tasks_run = w->tasks_run.load(std::memory_order_relaxed);
    wm.steal_operations = w->steal_operations.load(std::memory_order_relaxed);
    wm.tasks_stolen = w->tasks_stolen.load(std::memory_order_relaxed);
    wm.parks = w->parks.load(std::memory_order_relaxed);
    wm.spins = w->spins.load(std::memory_order_relaxed);
    wm.lifo_runs = w->lifo_runs.load(std::memory_order_relaxed);
    wm.overflows = w->overflows.load(std::memory_order_relaxed);
    wm.local_queue_depth = w->queue.Len();
    wm.busy_ns = w->busy_ns.load(std::memory_order_relaxed);
    m.tasks_spawned +=
        static_cast<int64_t>(w->spawned.load(std::memory_order_relaxed));
    m.workers.push_back(wm);
  }
  m.tasks_alive = TasksAlive();
  return m;
}

namespace internal {

void RunPollEndHooksSlow() {
  PollEndHook* h = std::exchange(tls_poll_end.hooks, nullptr);
  while (h != nullptr) {
    PollEndHook* next = h->next;  // read first: run() may reuse `h`
    h->run(h);
    h = next;
  }
}

}  // namespace internal
}  // namespace troupe
