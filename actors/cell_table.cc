#include "actors/cell_table.h"

namespace troupe {

void CellTable::Track(CellBase* cell) {
  Shard& shard = ShardOf(cell->id());
  std::lock_guard<std::mutex> guard(shard.mu);
  cell->table_prev_ = nullptr;
  CellBase*& head = shard.heads[cell->top_level_ ? 1 : 0];
  cell->table_next_ = head;
  if (head != nullptr) head->table_prev_ = cell;
  head = cell;
  cell->in_table_ = true;
  ++shard.size;
}

void CellTable::Forget(CellBase* cell) {
  Shard& shard = ShardOf(cell->id());
  std::lock_guard<std::mutex> guard(shard.mu);
  if (!cell->in_table_) return;
  if (cell->table_prev_ != nullptr) {
    cell->table_prev_->table_next_ = cell->table_next_;
  } else {
    shard.heads[cell->top_level_ ? 1 : 0] = cell->table_next_;
  }
  if (cell->table_next_ != nullptr) {
    cell->table_next_->table_prev_ = cell->table_prev_;
  }
  cell->table_prev_ = cell->table_next_ = nullptr;
  cell->in_table_ = false;
  --shard.size;
}

std::vector<CellPtr<CellBase>> CellTable::Collect(bool top_level_only) const {
  std::vector<CellPtr<CellBase>> cells;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard<std::mutex> guard(shard.mu);
    cells.reserve(cells.size() + shard.size);
    for (int list = top_level_only ? 1 : 0; list < 2; ++list) {
      for (CellBase* c = shard.heads[list]; c != nullptr; c = c->table_next_) {
        // safety: a tracked cell is not freed while we hold the lock - one
        // being destroyed still tracked forgets itself under this lock
        // first (~CellBase's body, before its members go), and its count
        // is zero by then, so TryShare fails.
        if (CellPtr<CellBase> strong = CellPtr<CellBase>::TryShare(c)) {
          cells.push_back(std::move(strong));
        }
      }
    }
  }
  return cells;
}

std::vector<CellPtr<CellBase>> CellTable::Snapshot() const {
  return Collect(false);
}

std::vector<CellPtr<CellBase>> CellTable::TopLevel() const {
  return Collect(true);
}

std::size_t CellTable::Size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard<std::mutex> guard(shard.mu);
    n += shard.size;
  }
  return n;
}

}  // namespace troupe
