// CellBase: what every actor is to the rest of the system, whatever its
// type: identity, place in the supervision tree, lifecycle state, the
// control lane, watchers, statistics. ActorCell<A> (actor_cell.h) adds the
// typed mailbox and the instance.
//
// The control lane carries system messages - stop, restart, child failure
// and termination, death-watch notices, timer messages - outside the
// bounded mailbox, so a full mailbox can never block a stop or a death
// notice. It is a short FIFO under a spin lock (control messages are rare);
// pushing wakes the actor's runner through its mailbox channel.
//
// Thread contract: methods marked "runner" run on the actor's own runner
// task (one at a time); the rest are thread-safe.
#ifndef TROUPE_ACTORS_CELL_H_
#define TROUPE_ACTORS_CELL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "actors/cell_ptr.h"
#include "actors/supervision.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/frame_allocator.h"
#include "executor/futex_mutex.h"
#include "executor/resumable.h"
#include "executor/spin_lock.h"
#include "executor/task.h"

namespace troupe {

class ActorSystem;
class CellBase;
class CellTable;

using ActorId = uint64_t;

// A control-lane message. Apply runs on the receiving actor's runner.
class ControlMessage {
 public:
  virtual ~ControlMessage() = default;
  virtual Task<void> Apply(CellBase& cell) = 0;

 private:
  friend class CellBase;
  ControlMessage* next_ = nullptr;  // the lane's intrusive FIFO link
};

enum class ActorState : uint8_t {
  kStarting,
  kRunning,
  kFailed,    // waiting for its parent's decision
  kStopping,  // draining its mailbox
  kStopped,
};

// Per-actor counters (a snapshot; see ActorSystem::ActorStats).
struct ActorStats {
  ActorId id = 0;
  std::string name;
  std::string type;
  ActorState state = ActorState::kStarting;
  uint64_t messages_handled = 0;
  // Messages in the mailbox, the one being handled included (it leaves
  // the mailbox when its handler ends). Read from another thread it may
  // count up to a few already handled ones the channel has not been told
  // of yet (the receiver reports consumption in batches).
  uint64_t mailbox_depth = 0;
  // The deepest the mailbox has been: the channel notes its depth each
  // time the runner takes the queued messages as a batch (it takes all of
  // them, whenever its batch runs dry - no per-message look at the
  // senders' counters), and the snapshot adds the present depth. Exact
  // for a burst that piles up while the actor is busy or idle; messages
  // arriving while a batch is still in hand can peak up to that batch's
  // remainder higher than noted.
  uint64_t mailbox_high_water = 0;
  uint64_t restarts = 0;
  // Sampled handler times (1 in CellBase::kHandlerSampleEvery), log2
  // buckets of microseconds: [0] < 1 us, [1] < 2 us, ... [15] >= 16 ms.
  static constexpr int kBuckets = 16;
  uint64_t handler_time_buckets[kBuckets] = {};
};

// A cell is also its actor's runner task (a Resumable: executor/
// resumable.h; ActorCell<A> implements it), so that the two share one
// vtable pointer.
class CellBase : protected Resumable {
 public:
  static constexpr int kHandlerSampleEvery = 256;

  CellBase(ActorSystem* system, std::string name,
           const CellPtr<CellBase>& parent);

  // Cells live in blocks of the executor's frame allocator
  // (executor/frame_allocator.h): an actor that ends hands its memory to
  // the next one spawned, through the thread caches, instead of a malloc
  // and a free (often on another thread, under the arena's lock) per
  // actor; and a block costs the heap what malloc would (a 376-byte cell,
  // a 384-byte chunk). The deleting destructor passes the cell's own size.
  // Under AddressSanitizer cells come from the heap, so that a use of a
  // freed cell is reported (a cached block would be reused at once, its
  // first words overwritten by the free list's links). An over-aligned
  // cell (an actor with alignas state) takes the aligned global forms.
#if defined(__SANITIZE_ADDRESS__)
  static void* operator new(std::size_t size) { return ::operator new(size); }
  static void operator delete(void* cell, std::size_t /*size*/) {
    ::operator delete(cell);
  }
#else
  static void* operator new(std::size_t size) {
    return internal::AllocateFrame(size);
  }
  static void operator delete(void* cell, std::size_t size) {
    internal::FreeFrame(cell, size);
  }
#endif
  static void* operator new(std::size_t size, std::align_val_t align) {
    return ::operator new(size, align);
  }
  static void operator delete(void* cell, std::size_t /*size*/,
                              std::align_val_t align) {
    ::operator delete(cell, align);
  }
  virtual ~CellBase();
  CellBase(const CellBase&) = delete;
  CellBase& operator=(const CellBase&) = delete;

  // ---- references (cell_ptr.h; any thread) ----
  void AddCellRef() {
    // Relaxed: the caller holds a reference already (as shared_ptr copies).
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void DropCellRef() {
    // acq_rel: the release publishes this holder's writes; the acquire on
    // the last drop makes them all visible to the destructor.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  bool TryAddCellRef() {
    uint32_t n = refs_.load(std::memory_order_relaxed);
    while (n != 0) {
      // Acquire on success: what the last holders wrote is visible to the
      // new one, as with the first reference.
      if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  // A new reference to this cell (the caller holds one, or is its runner).
  CellPtr<CellBase> Share() { return CellPtr<CellBase>::Share(this); }

  ActorId id() const { return id_; }
  // The name given at spawn, or "<Type>-<id>" (made on the first call:
  // most actors are never asked for their name).
  const std::string& name() const {
    // Acquire pairs with the release CAS that published it (DefaultName).
    const std::string* name = name_.load(std::memory_order_acquire);
    return name != nullptr ? *name : DefaultName();
  }
  // A static string (TypeName<A>()); virtual, so that no cell stores it.
  virtual const char* type() const = 0;
  ActorSystem& system() const { return *system_; }
  ActorState state() const { return state_.load(std::memory_order_acquire); }
  bool IsTerminated() const {
    // Acquire pairs with the release in FinishTermination: the reason and
    // every effect of the termination are visible.
    return terminated_.load(std::memory_order_acquire);
  }
  // Why it stopped (OK for a normal stop); valid once terminated.
  absl::Status termination_reason() const;
  // Completes when the actor has fully stopped.
  CancellationToken::Awaiter Terminated() const;

  // ---- control lane (any thread) ----
  void PushControl(std::unique_ptr<ControlMessage> message);
  bool HasControl() const {
    return control_pending_.load(std::memory_order_acquire);
  }

  // ---- requests (any thread); each travels on the control lane ----
  void RequestStop(const absl::Status& reason);
  void RequestRestart(const absl::Status& reason, Duration backoff);
  void RequestResume();
  // A child reports its failure to this (its parent).
  virtual void ChildFailed(CellPtr<CellBase> child, const absl::Status& why);
  // Death watch: `watcher` gets a Terminated notice when this stops.
  void AddWatcher(const CellPtr<CellBase>& watcher, bool link);
  void RemoveWatcher(CellBase* watcher);

  // ---- typed hooks, implemented by ActorCell<A> ----
  virtual uint64_t MailboxDepth() const = 0;
  // The deepest the mailbox was when the runner took a batch from it.
  virtual uint64_t MailboxHighWater() const = 0;
  // Closes the mailbox to new sends (shutdown step "stop intake").
  virtual void CloseMailbox() = 0;
  // Aborts the runner (shutdown deadline passed).
  virtual void AbortRunner() = 0;
  // Delivers a Terminated notice about `who` (runner).
  virtual Task<void> DeliverTerminated(ActorId who, std::string who_name,
                                       absl::Status reason, bool linked) = 0;
  // Lifecycle requests, applied on the runner.
  virtual Task<void> HandleStop(absl::Status reason) = 0;
  virtual Task<void> HandleRestart(absl::Status reason, Duration backoff) = 0;
  virtual void HandleResume() = 0;
  // The parent's side of a child failure, applied on the parent's runner.
  Task<void> SuperviseChild(CellPtr<CellBase> child, absl::Status why);
  // The decision itself (synchronous; the system root calls it directly).
  void SuperviseChildNow(const CellPtr<CellBase>& child,
                         const absl::Status& why);
  virtual bool IsRoot() const { return false; }

  ActorStats Stats() const;
  // The children (a snapshot).
  virtual std::vector<CellPtr<CellBase>> Children() const;
  // Names (ActorSystem::Register), so that only named actors take the
  // registry's lock when they stop. MarkNamed() - called under the
  // registry's lock before a name is added - fails once the actor has
  // passed CloseNames(), its termination's "forget my names" step; that
  // returns true if any name may have been added, and the terminating
  // actor then takes the registry's lock (after any Register holding it)
  // to remove them. So no name outlives its actor's termination.
  bool MarkNamed() {
    uint8_t state = names_.load(std::memory_order_acquire);
    while (state == kNoNames) {
      // acq_rel: CloseNames' exchange sees kNamed or we see kNamesClosed.
      if (names_.compare_exchange_weak(state, kNamed,
                                       std::memory_order_acq_rel)) {
        return true;
      }
    }
    return state == kNamed;
  }
  bool CloseNames() {
    return names_.exchange(kNamesClosed, std::memory_order_acq_rel) == kNamed;
  }
  // The system is going away before this actor finished: its termination,
  // whenever it comes, must no longer touch the system (any thread).
  void DetachFromSystem();
  // Null once the parent is gone (for the top level: once the system is).
  CellPtr<CellBase> parent() const;

  // The message type being handled, and a sequence that moves with every
  // message (the watchdog compares snapshots).
  const char* current_message() const {
    return current_message_.load(std::memory_order_acquire);
  }
  uint64_t handler_sequence() const {
    return handler_seq_.load(std::memory_order_acquire);
  }

 protected:
  friend class ActorSystem;
  friend class CellTable;

  // ---- runner side ----
  std::unique_ptr<ControlMessage> PopControl();
  void AddChild(CellPtr<CellBase> child);
  void RemoveChild(CellBase* child);
  // Stops every child and waits for them (children before parents).
  Task<void> StopChildren(const absl::Status& reason);
  // Final bookkeeping after the instance is gone, in this order: the
  // watcher list closes (a Watch from now on is answered at once), state
  // becomes kStopped, watchers are told, the registry and the parent
  // forget the actor, Terminated() completes.
  void FinishTermination(const absl::Status& reason);
  // Runner: records why the actor stops (see Relations::reason).
  void SetStopReason(absl::Status reason);
  // Runner: the reason recorded so far (OK if none).
  absl::Status stop_reason() const;
  // mu_ held: the reason, and setting it.
  absl::Status ReasonLocked() const;
  void SetReasonLocked(absl::Status reason);
  // The last step of a termination: the control lane refuses messages
  // from now on and drops what it still holds (nothing will apply them).
  void CloseControl();
  // Wakes the runner if it is parked on its mailbox.
  virtual void WakeRunner() = 0;

  void set_state(ActorState s) { state_.store(s, std::memory_order_release); }
  void BeginMessage(const char* type) {
    current_message_.store(type, std::memory_order_release);
  }
  void EndMessage() {
    current_message_.store(nullptr, std::memory_order_release);
    // Release: the watchdog reads the sequence around current_message_.
    handler_seq_.store(handler_seq_.load(std::memory_order_relaxed) + 1,
                       std::memory_order_release);
  }
  // Handler sampling (runner): StartSample at a sampled message's start,
  // RecordHandlerTime(now) at its end.
  void StartSample(Instant now) { MakeRareStats().sample_start = now; }
  void CountRestart() {
    std::atomic<uint64_t>& restarts = MakeRareStats().restarts;
    // Relaxed: a statistic; only the runner writes it.
    restarts.store(restarts.load(std::memory_order_relaxed) + 1,
                   std::memory_order_relaxed);
  }
  void RecordHandlerTime(Instant now);

  virtual const SupervisorStrategy& child_strategy() const = 0;
  // This actor fails (its own handler threw, or escalation).
  void Fail(const absl::Status& why);

  ActorSystem* const system_;
  const ActorId id_;
  // A child of an actor holds its parent (its memory: the parent forgets
  // the child when the child terminates, which ends the cycle). The top
  // level does not hold the root at all (parent_ is empty): thousands of
  // top-level actors spawned and stopped on several workers would
  // otherwise all count references on the root. They reach it through the
  // system until DetachFromSystem.
  // Released by FinishTermination (the runner; the only reader after
  // construction), so that a chain of retired cells never frees its
  // ancestors recursively.
  CellPtr<CellBase> parent_;
  const bool top_level_;
  std::atomic<ActorState> state_{ActorState::kStarting};
  std::atomic<bool> terminated_{false};
  std::atomic<bool> control_pending_{false};
  static constexpr uint8_t kNoNames = 0, kNamed = 1, kNamesClosed = 2;
  std::atomic<uint8_t> names_{kNoNames};
  mutable internal::SpinLock control_lock_;
  // Set (under control_lock_) once the actor has terminated: nothing will
  // apply a control message any more, so PushControl drops them - a notice
  // holding a cell must not sit in a dead actor's lane (a reference cycle).
  bool control_closed_ = false;  // control_lock_
  // CellPtr's count (cell_ptr.h): MakeCell's first reference.
  std::atomic<uint32_t> refs_{1};
  // Set, under mu_, in the same step that takes the watchers away for the
  // notices: a watcher added later is told at once by AddWatcher.
  bool watchers_closed_ = false;  // mu_
  // Set by DetachFromSystem: FinishTermination leaves the registry alone.
  bool detached_ = false;  // mu_
  // In the system's table (cell_table.h): written by its Track and Forget
  // under the shard's lock. Read without it by ~CellBase, which runs after
  // every Forget of the cell (they are done by holders of a reference).
  bool in_table_ = false;
  // One word, not std::mutex's forty: held across blocking calls
  // (FinishTermination unregisters under it), so not a spin lock.
  mutable internal::FutexMutex mu_;
  // Beside mu_ (it fills the word after it); 32 bits are plenty.
  uint32_t index_in_parent_ = 0;  // guarded by the parent's mu_
  // The given name, or the default one once made (see name()); owned.
  mutable std::atomic<const std::string*> name_{nullptr};
  // An intrusive FIFO, circular (an idle actor's lane costs one pointer,
  // not a std::deque's preallocated chunk): the newest message, whose
  // next_ is the oldest. Owns its messages.
  ControlMessage* control_tail_ = nullptr;  // control_lock_
  // The system's table threads its shard lists through here (its shard's
  // lock guards them; neighbours' Forget writes them).
  CellBase* table_prev_ = nullptr;
  CellBase* table_next_ = nullptr;
  struct Watcher {
    CellPtr<CellBase> cell;
    bool link;
  };
  // Restart bookkeeping per child id: timestamps of recent restarts.
  struct RestartHistory {
    ActorId child;
    std::deque<Instant> times;
    int consecutive = 0;
  };
  // What most actors never have - children, watchers, a Terminated()
  // awaiter, restarted children - made under mu_ on first need (an idle
  // actor pays one pointer for all of it). Never freed before the cell.
  // Statistics most actors never record: sampled handler times (an actor
  // that handled fewer than kHandlerSampleEvery messages has none) and
  // restarts. Written by the runner only, read by Stats() from any
  // thread. The start of the handler sample in progress lives here too.
  struct RareStats {
    std::atomic<uint64_t> buckets[ActorStats::kBuckets] = {};
    std::atomic<uint64_t> restarts{0};
    Instant sample_start;  // runner only
  };
  struct Relations {
    RareStats rare;
    // Why the actor stops: set by its runner when it begins to stop (or
    // at termination), under mu_; read by the runner without it (it is
    // the only writer). An OK reason makes no relations block.
    absl::Status reason;
    std::vector<CellPtr<CellBase>> children;
    std::vector<Watcher> watchers;
    // Made on the first Terminated() call, cancelled by FinishTermination.
    std::unique_ptr<CancellationToken> terminated_token;
    std::vector<RestartHistory> restart_history;
  };
  Relations& RelationsLocked() const;  // mu_ held; makes it if needed
  // mu_ held: drops the watchers that have terminated.
  void PruneWatchersLocked();
  // Made under mu_ and published with a release store, so that the
  // statistics in it can be read without the lock (acquire). Loads under
  // mu_ are relaxed (whoever made it held mu_ too), as is ~CellBase's
  // (after the last reference's acq_rel drop).
  mutable std::atomic<Relations*> relations_{nullptr};

  std::atomic<const char*> current_message_{nullptr};
  // Moves once per handled message: the watchdog's sequence and the
  // messages_handled statistic in one.
  std::atomic<uint64_t> handler_seq_{0};
  // The runner's rare statistics (in the relations), made if needed
  // (runner).
  RareStats& MakeRareStats();

 private:
  const std::string& DefaultName() const;
};

// A cell with no runner and no mailbox - the system's root, which decides
// about failures on the spot, and test doubles: every typed hook is inert.
// Subclasses name their type and their children's strategy.
class RunnerlessCell : public CellBase {
 public:
  using CellBase::CellBase;
  uint64_t MailboxDepth() const override { return 0; }
  uint64_t MailboxHighWater() const override { return 0; }
  void CloseMailbox() override {}
  void AbortRunner() override {}
  Task<void> DeliverTerminated(ActorId /*who*/, std::string /*who_name*/,
                               absl::Status /*reason*/,
                               bool /*linked*/) override {
    co_return;
  }
  Task<void> HandleStop(absl::Status /*reason*/) override { co_return; }
  Task<void> HandleRestart(absl::Status /*reason*/,
                           Duration /*backoff*/) override {
    co_return;
  }
  void HandleResume() override {}

 protected:
  void WakeRunner() override {}
  // Never spawned: no runner.
  RunResult Run() override { return RunResult::kDone; }
  void OnCancelled() override {}
  void OnReleased() override {}
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_CELL_H_
