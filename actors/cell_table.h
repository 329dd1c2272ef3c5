// CellTable: the actor system's table of live actors, sharded by id so that
// actors spawned and stopped on different workers do not queue on one lock.
//
// Contract:
//   - Track(cell, keep_alive) adds a cell (ids are unique); with keep_alive
//     the table holds a strong reference - the system's hold on its
//     top-level actors, whose parent (the root) keeps no child list - and
//     otherwise a weak one (a child is kept alive by its parent).
//   - Forget(cell) removes it; the strong reference, if any, is dropped
//     after the shard's lock is released (the cell may be destroyed then).
//   - Snapshot() copies every cell that is still alive, KeptAlive() only the
//     strong ones (the top level); Size() counts entries. Snapshots are
//     taken shard by shard, so a cell tracked or forgotten meanwhile may or
//     may not appear - callers that need a cut (shutdown) stop intake first.
//   All methods are thread-safe.
//
// Example:
//   CellTable table;
//   table.Track(cell, /*keep_alive=*/true);
//   for (auto& c : table.KeptAlive()) c->RequestStop(absl::OkStatus());
//   table.Forget(cell.get());
#ifndef TROUPE_ACTORS_CELL_TABLE_H_
#define TROUPE_ACTORS_CELL_TABLE_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "actors/cell.h"

namespace troupe {

class CellTable {
 public:
  CellTable() = default;
  CellTable(const CellTable&) = delete;
  CellTable& operator=(const CellTable&) = delete;

  void Track(const std::shared_ptr<CellBase>& cell, bool keep_alive);
  void Forget(CellBase* cell);
  std::vector<std::shared_ptr<CellBase>> Snapshot() const;
  std::vector<std::shared_ptr<CellBase>> KeptAlive() const;
  std::size_t Size() const;

 private:
  // A power of two comfortably above the worker count of the machines the
  // toolkit targets; ids are sequential, so consecutive spawns spread.
  static constexpr std::size_t kShards = 32;
  struct Entry {
    std::weak_ptr<CellBase> weak;
    std::shared_ptr<CellBase> strong;  // set for kept-alive cells only
  };
  // One cache line per shard's lock, so neighbours do not false-share.
  struct alignas(64) Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<ActorId, Entry> cells;  // mu
  };
  Shard& ShardOf(ActorId id) { return shards_[id % kShards]; }
  std::vector<std::shared_ptr<CellBase>> Collect(bool kept_alive_only) const;

  // On the heap: an over-aligned member would make the system itself
  // over-aligned, and coroutine frames (which may hold a system) are only
  // 16-byte aligned.
  std::unique_ptr<Shard[]> shards_ = std::make_unique<Shard[]>(kShards);
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_CELL_TABLE_H_
