// CellTable: the actor system's table of live actors, sharded by id so that
// actors spawned and stopped on different workers do not queue on one lock.
// Intrusive: each shard is a doubly-linked list threaded through the cells
// themselves (CellBase's table links), so tracking an actor allocates
// nothing and costs it two pointers - not a hash-map slot and its slack.
//
// Contract:
//   - Track(cell) adds a cell that is not tracked; Forget(cell) removes it
//     (a no-op if it is not tracked). The table does not own its cells:
//     whoever tracks a cell forgets it before the cell is destroyed (a
//     running actor's runner keeps its cell alive until FinishTermination
//     has forgotten it; see ActorSystem). A cell whose last reference is
//     gone but that is still tracked - its destructor about to forget it -
//     is skipped by the snapshots.
//   - Snapshot() copies (strong references to) every tracked cell that is
//     still alive, TopLevel() only the top-level ones (the root's
//     children, which the root keeps no list of); Size() counts tracked
//     cells. Snapshots are taken shard by shard, so a cell tracked or
//     forgotten meanwhile may or may not appear - callers that need a cut
//     (shutdown) stop intake first.
//   All methods are thread-safe.
//
// Example:
//   CellTable table;
//   table.Track(cell.get());
//   for (auto& c : table.TopLevel()) c->RequestStop(absl::OkStatus());
//   table.Forget(cell.get());
#ifndef TROUPE_ACTORS_CELL_TABLE_H_
#define TROUPE_ACTORS_CELL_TABLE_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/cell.h"

namespace troupe {

class CellTable {
 public:
  CellTable() = default;
  CellTable(const CellTable&) = delete;
  CellTable& operator=(const CellTable&) = delete;

  void Track(CellBase* cell);
  void Forget(CellBase* cell);
  std::vector<CellPtr<CellBase>> Snapshot() const;
  std::vector<CellPtr<CellBase>> TopLevel() const;
  std::size_t Size() const;

 private:
  // A power of two comfortably above the worker count of the machines the
  // toolkit targets; ids are sequential, so consecutive spawns spread.
  static constexpr std::size_t kShards = 32;
  // One cache line per shard's lock, so neighbours do not false-share.
  struct alignas(64) Shard {
    mutable std::mutex mu;
    // Two lists, linked through CellBase::table_next_: [1] the top level,
    // [0] the rest - so TopLevel() walks only the top level (the root's
    // all-for-one supervision takes it on every top-level failure).
    CellBase* heads[2] = {nullptr, nullptr};  // mu
    std::size_t size = 0;                     // mu
  };
  Shard& ShardOf(ActorId id) { return shards_[id % kShards]; }
  std::vector<CellPtr<CellBase>> Collect(bool top_level_only) const;

  // On the heap: an over-aligned member would make the system itself
  // over-aligned, and coroutine frames (which may hold a system) are only
  // 16-byte aligned.
  std::unique_ptr<Shard[]> shards_ = std::make_unique<Shard[]>(kShards);
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_CELL_TABLE_H_
