// ActorSystem: the root of the supervision tree. Spawns top-level actors,
// keeps the registry of names, runs the watchdog, reports metrics, and
// shuts everything down gracefully.
//
// Graceful shutdown (Shutdown(deadline)), in order:
//   1. stop intake: every mailbox closes to new messages;
//   2. every top-level actor is asked to stop; each stops its children
//      first, then drains what its mailbox already holds;
//   3. whatever has not finished when the deadline passes is reported
//      (name, type, mailbox depth - the message it is stuck on included)
//      and its runner aborted;
//   4. the aborted actors are torn down (actor_cell.h, "Abort"): their
//      mailboxes dropped - every pending ask fails with ActorStopped -,
//      state kStopped, watchers told, parents detached. Shutdown waits for
//      that (up to a second: a handler blocking its worker thread cannot
//      be aborted, and is logged).
// Destroying the system without a shutdown runs one (5 s deadline) from a
// plain thread; inside the runtime it cannot wait, and aborts every actor.
//
// Watchdog: a handler running longer than `watchdog_threshold` (default
// 100 ms) is logged once, naming the actor and the message type. It scans
// four times per threshold; a handler up to a quarter threshold shorter
// may be reported too (see Watchdog()).
//
// Example:
//   Runtime runtime;
//   ActorSystem system(runtime);
//   ActorRef<Counter> c = system.Spawn<Counter>();
//   ...
//   ShutdownReport report = system.BlockingShutdown(std::chrono::seconds(5));
#ifndef TROUPE_ACTORS_ACTOR_SYSTEM_H_
#define TROUPE_ACTORS_ACTOR_SYSTEM_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor_cell.h"
#include "actors/actor_ref.h"
#include "actors/cell.h"
#include "actors/cell_table.h"
#include "actors/supervision.h"
#include "executor/runtime.h"

namespace troupe {

template <typename A>
class Actor;

struct SpawnOptions {
  std::string name;  // empty: "<Type>-<id>"
  // 0: the system default (1,024). Capacities above 2^32 - 1 count as
  // 2^32 - 1.
  std::size_t mailbox_capacity = 0;
};

struct ActorSystemOptions {
  std::size_t default_mailbox_capacity = 1024;
  // For top-level actors (their parent is the system).
  SupervisorStrategy top_level_supervision;
  Duration watchdog_threshold = std::chrono::milliseconds(100);
  bool watchdog = true;
  // An ask to an idle actor with a synchronous handler runs the handler
  // on the asking task's thread, without a task switch (ActorCell::
  // TryAskDirect; the actor's state stays its own). Off: every ask goes
  // through the mailbox.
  bool direct_asks = true;
  // Where diagnostics go (default: stderr).
  std::function<void(const std::string&)> log;
};

struct ShutdownReport {
  struct Straggler {
    std::string name;
    std::string type;
    uint64_t mailbox_depth;
  };
  bool clean = true;  // every actor stopped before the deadline
  std::vector<Straggler> stragglers;
  std::string ToString() const;
};

class ActorSystem {
 public:
  explicit ActorSystem(Runtime& runtime, ActorSystemOptions options = {});
  ~ActorSystem();
  ActorSystem(const ActorSystem&) = delete;
  ActorSystem& operator=(const ActorSystem&) = delete;

  // Spawns a top-level actor, constructed from `args` (and constructed
  // again from copies of them on every restart).
  template <typename A, typename... Args>
  ActorRef<A> Spawn(Args&&... args) {
    return SpawnUnder<A>(root_, SpawnOptions{}, std::forward<Args>(args)...);
  }
  template <typename A, typename... Args>
  ActorRef<A> SpawnNamed(SpawnOptions options, Args&&... args) {
    return SpawnUnder<A>(root_, std::move(options),
                         std::forward<Args>(args)...);
  }

  // Registry. Register fails with AlreadyExists if a live actor holds the
  // name; Lookup fails with NotFound, or InvalidArgument if the actor
  // registered under `name` is not an A.
  template <typename A>
  absl::Status Register(const std::string& name, const ActorRef<A>& ref) {
    return RegisterCell(name, ref.cell(), std::type_index(typeid(A)));
  }
  template <typename A>
  absl::StatusOr<ActorRef<A>> Lookup(const std::string& name) {
    absl::StatusOr<CellPtr<CellBase>> cell =
        LookupCell(name, std::type_index(typeid(A)), TypeName<A>());
    if (!cell.ok()) return cell.status();
    auto typed = StaticCellCast<ActorCell<A>>(*std::move(cell));
    if (!typed->MintLiveSender()) {
      return absl::NotFoundError("actor '" + name + "' has stopped");
    }
    return ActorRef<A>(std::move(typed), internal::AdoptSender{});
  }

  // Graceful shutdown (see the file comment). Idempotent.
  Task<ShutdownReport> Shutdown(Duration deadline);
  // The same from a plain thread.
  ShutdownReport BlockingShutdown(Duration deadline);

  std::vector<ActorStats> Stats() const;
  // Actor and runtime metrics in the Prometheus text format.
  std::string RenderPrometheus() const;

  Runtime& runtime() { return runtime_; }
  Clock& clock() { return runtime_.scheduler().clock(); }
  const ActorSystemOptions& options() const { return options_; }
  std::size_t NumActors() const;
  // The root of the supervision tree (the parent of the top level).
  const CellPtr<CellBase>& root() const { return root_; }

  // ---- internal ----
  template <typename A, typename... Args>
  ActorRef<A> SpawnUnder(const CellPtr<CellBase>& parent, SpawnOptions options,
                         Args&&... args);
  void Unregister(CellBase* cell);
  // Out of the table only (the cell is detached, or never started).
  void ForgetCell(CellBase* cell) { table_.Forget(cell); }
  void Log(const std::string& line) const;

 private:
  class Root;
  absl::Status RegisterCell(const std::string& name,
                            const CellPtr<CellBase>& cell,
                            std::type_index type);
  absl::StatusOr<CellPtr<CellBase>> LookupCell(const std::string& name,
                                               std::type_index type,
                                               const char* type_name);
  void ForgetNamesLocked(CellBase* cell);  // mu_ held
  // Every actor not yet destroyed (a snapshot).
  std::vector<CellPtr<CellBase>> LiveCells() const;
  Task<void> Watchdog();

  Runtime& runtime_;
  const ActorSystemOptions options_;
  CellPtr<CellBase> root_;  // a Root
  // Every live actor (the root has no child list of its own: see Root).
  // Each is forgotten when it terminates (Unregister) or is detached, and
  // its runner keeps it alive until then.
  CellTable table_;
  mutable std::mutex mu_;  // the registry
  struct Named {
    CellPtr<CellBase> cell;
    std::type_index type;
  };
  absl::flat_hash_map<std::string, Named> registry_;  // mu_
  // The names each actor registered (only actors that registered one).
  absl::flat_hash_map<ActorId, std::vector<std::string>> names_of_;  // mu_
  bool shut_down_ = false;                                           // mu_
  CancellationToken stop_watchdog_;
  JoinHandle<void> watchdog_;
};

template <typename A, typename... Args>
ActorRef<A> ActorSystem::SpawnUnder(const CellPtr<CellBase>& parent,
                                    SpawnOptions options, Args&&... args) {
  static_assert(std::is_base_of_v<Actor<A>, A>,
                "an actor type A must derive from troupe::Actor<A>");
  using Factory = typename ActorCell<A>::Factory;
  Factory factory;  // empty: A's default constructor
  if constexpr (sizeof...(Args) != 0 || !std::is_default_constructible_v<A>) {
    factory =
        Factory([... captured = std::decay_t<Args>(std::forward<Args>(args))](
                    void* storage) { ::new (storage) A(captured...); });
  }
  const std::size_t capacity = options.mailbox_capacity != 0
                                   ? options.mailbox_capacity
                                   : options_.default_mailbox_capacity;
  auto cell = MakeCell<ActorCell<A>>(this, std::move(options.name), parent,
                                     std::move(factory), capacity,
                                     options_.direct_asks);
  if (!parent->IsRoot()) parent->AddChild(cell);
  // Tracked until it terminates; its runner (Start) keeps it alive till
  // then, so the table need not hold it.
  table_.Track(cell.get());
  cell->Start(runtime_.scheduler());
  // Adopts the mailbox's first sender.
  return ActorRef<A>(std::move(cell), internal::AdoptSender{});
}

}  // namespace troupe

#endif  // TROUPE_ACTORS_ACTOR_SYSTEM_H_
