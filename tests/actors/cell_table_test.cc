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
  FakeCell(const std::shared_ptr<CellBase>& parent, bool root = false)
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

std::vector<ActorId> Ids(const std::vector<std::shared_ptr<CellBase>>& cells) {
  std::vector<ActorId> ids;
  ids.reserve(cells.size());
  for (const auto& c : cells) ids.push_back(c->id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

class CellTableTest : public ::testing::Test {
 protected:
  std::shared_ptr<CellBase> root_ =
      std::make_shared<FakeCell>(nullptr, /*root=*/true);
};

TEST_F(CellTableTest, SnapshotHoldsEveryTrackedCellUntilItIsForgotten) {
  CellTable table;
  std::vector<std::shared_ptr<CellBase>> cells;
  std::vector<ActorId> ids;
  // More cells than shards, so that shards hold lists of several.
  for (int i = 0; i < 100; ++i) {
    cells.push_back(std::make_shared<FakeCell>(root_));
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
  auto a = std::make_shared<FakeCell>(root_);
  auto b = std::make_shared<FakeCell>(root_);
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
  auto top = std::make_shared<FakeCell>(root_);
  auto child = std::make_shared<FakeCell>(top);
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

TEST_F(CellTableTest, SnapshotSkipsATrackedCellWhoseLastReferenceIsGone) {
  CellTable table;
  auto kept = std::make_shared<FakeCell>(root_);
  // A cell in the state of one being destroyed while still tracked: its
  // strong count is zero, its memory still there (the deleter does not
  // free it; ~CellBase would forget it next).
  auto* dying = new FakeCell(root_);
  std::shared_ptr<FakeCell> owner(dying, [](FakeCell*) {});
  table.Track(kept.get());
  table.Track(dying);
  EXPECT_EQ(table.Snapshot().size(), 2u);
  owner.reset();
  EXPECT_EQ(Ids(table.Snapshot()), std::vector<ActorId>{kept->id()});
  EXPECT_EQ(table.Size(), 2u);  // tracked until forgotten
  table.Forget(dying);
  delete dying;
  table.Forget(kept.get());
}

}  // namespace
}  // namespace troupe
