#include "actors/cell_table.h"

#include <utility>

namespace troupe {

void CellTable::Track(const std::shared_ptr<CellBase>& cell, bool keep_alive) {
  Shard& shard = ShardOf(cell->id());
  std::lock_guard<std::mutex> guard(shard.mu);
  shard.cells.insert_or_assign(
      cell->id(), Entry{cell, keep_alive ? cell : std::shared_ptr<CellBase>()});
}

void CellTable::Forget(CellBase* cell) {
  std::shared_ptr<CellBase> strong;  // released after the lock
  Shard& shard = ShardOf(cell->id());
  std::lock_guard<std::mutex> guard(shard.mu);
  auto it = shard.cells.find(cell->id());
  if (it == shard.cells.end()) return;
  strong = std::move(it->second.strong);
  shard.cells.erase(it);
}

std::vector<std::shared_ptr<CellBase>> CellTable::Collect(
    bool kept_alive_only) const {
  std::vector<std::shared_ptr<CellBase>> cells;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard<std::mutex> guard(shard.mu);
    cells.reserve(cells.size() + shard.cells.size());
    for (const auto& [id, entry] : shard.cells) {
      if (kept_alive_only) {
        if (entry.strong != nullptr) cells.push_back(entry.strong);
      } else if (std::shared_ptr<CellBase> c = entry.weak.lock()) {
        cells.push_back(std::move(c));
      }
    }
  }
  return cells;
}

std::vector<std::shared_ptr<CellBase>> CellTable::Snapshot() const {
  return Collect(false);
}

std::vector<std::shared_ptr<CellBase>> CellTable::KeptAlive() const {
  return Collect(true);
}

std::size_t CellTable::Size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard<std::mutex> guard(shard.mu);
    n += shard.cells.size();
  }
  return n;
}

}  // namespace troupe
