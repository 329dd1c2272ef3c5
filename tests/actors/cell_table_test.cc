// CellTable (actors/cell_table.h) on its own: the intrusive lists through
// the cells - tracking, forgetting (in any order, twice), the top level,
// and cells whose last reference is gone while still tracked.

#include "actors/cell_table.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "actors/cell.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

// A cell with no runner and no mailbox: enough to be tracked.
class FakeCell : public RunnerlessCell {
 public:
  FakeCell(const CellPtr<CellBase>& parent, bool root = false)
      : RunnerlessCell(nullptr, root ? "root" : "", parent), root_(root) {}
  const char* type() const override { return "fake"; }
  bool IsRoot() const override { return root_; }

 protected:
  const SupervisorStrategy& child_strategy() const override {
    return strategy_;
  }

 private:
  const bool root_;
  SupervisorStrategy strategy_;
};

std::vector<ActorId> Ids(const std::vector<CellPtr<CellBase>>& cells) {
  std::vector<ActorId> ids;
  ids.reserve(cells.size());
  for (const auto& c : cells) ids.push_back(c->id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

class CellTableTest : public ::testing::Test {
 protected:
  CellPtr<CellBase> root_ = MakeCell<FakeCell>(nullptr, /*root=*/true);
};

TEST_F(CellTableTest, SnapshotHoldsEveryTrackedCellUntilItIsForgotten) {
  CellTable table;
  std::vector<CellPtr<CellBase>> cells;
  std::vector<ActorId> ids;
  // More cells than shards, so that shards hold lists of several.
  for (int i = 0; i < 100; ++i) {
    cells.emplace_back(MakeCell<FakeCell>(root_));
    table.Track(cells.back().get());
    ids.push_back(cells.back()->id());
  }
  EXPECT_EQ(table.Size(), 100u);
  EXPECT_EQ(Ids(table.Snapshot()), ids);
  // Forget from the middle, the ends, and in an order unlike the tracking.
  std::vector<ActorId> left;
  for (int i = 0; i < 100; ++i) {
    if (i % 3 == 0) {
      table.Forget(cells[i].get());
    } else {
      left.push_back(cells[i]->id());
    }
  }
  EXPECT_EQ(table.Size(), left.size());
  EXPECT_EQ(Ids(table.Snapshot()), left);
  for (int i = 99; i >= 0; --i) table.Forget(cells[i].get());
  EXPECT_EQ(table.Size(), 0u);
  EXPECT_TRUE(table.Snapshot().empty());
}

TEST_F(CellTableTest, ForgettingACellTwiceOrNeverTrackedChangesNothing) {
  CellTable table;
  auto a = MakeCell<FakeCell>(root_);
  auto b = MakeCell<FakeCell>(root_);
  table.Forget(a.get());  // never tracked
  table.Track(a.get());
  table.Track(b.get());
  table.Forget(a.get());
  table.Forget(a.get());
  EXPECT_EQ(table.Size(), 1u);
  EXPECT_EQ(Ids(table.Snapshot()), std::vector<ActorId>{b->id()});
  table.Forget(b.get());
}

TEST_F(CellTableTest, TopLevelListsOnlyTheRootsChildren) {
  CellTable table;
  auto top = MakeCell<FakeCell>(root_);
  auto child = MakeCell<FakeCell>(top);
  table.Track(top.get());
  table.Track(child.get());
  EXPECT_EQ(Ids(table.TopLevel()), std::vector<ActorId>{top->id()});
  EXPECT_EQ(table.Snapshot().size(), 2u);
  table.Forget(child.get());
  EXPECT_EQ(Ids(table.Snapshot()), std::vector<ActorId>{top->id()});
  EXPECT_EQ(Ids(table.TopLevel()), std::vector<ActorId>{top->id()});
  table.Forget(top.get());
  EXPECT_EQ(table.Size(), 0u);
  EXPECT_TRUE(table.TopLevel().empty());
}

// A cell that, from inside its destructor - its count zero, its memory
// still there, still tracked - records what a snapshot of its table holds,
// then forgets itself (as ~CellBase does for a cell of a system).
class DyingCell : public FakeCell {
 public:
  DyingCell(const CellPtr<CellBase>& parent, CellTable* table,
            std::vector<ActorId>* seen)
      : FakeCell(parent), table_(table), seen_(seen) {}
  ~DyingCell() override {
    *seen_ = Ids(table_->Snapshot());
    table_->Forget(this);
  }

 private:
  CellTable* table_;
  std::vector<ActorId>* seen_;
};

TEST_F(CellTableTest, SnapshotSkipsATrackedCellWhoseLastReferenceIsGone) {
  CellTable table;
  auto kept = MakeCell<FakeCell>(root_);
  std::vector<ActorId> seen_while_dying;
  auto dying = MakeCell<DyingCell>(root_, &table, &seen_while_dying);
  table.Track(kept.get());
  table.Track(dying.get());
  EXPECT_EQ(table.Snapshot().size(), 2u);
  dying.reset();
  EXPECT_EQ(seen_while_dying, std::vector<ActorId>{kept->id()});
  EXPECT_EQ(table.Size(), 1u);
  table.Forget(kept.get());
}

}  // namespace
}  // namespace troupe
