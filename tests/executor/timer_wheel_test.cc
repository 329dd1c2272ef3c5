// TimerWheel: firing order, cascading through every level, removal,
// deadlines beyond the wheel's span, NextExpiration, and a randomised run
// against a sorted reference model.

#include "executor/timer_wheel.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

constexpr uint64_t kMaxTicks = TimerWheel::kMaxTicks;

struct TestEntry : TimerWheel::Entry {
  int id = 0;
};

// Advances `wheel` to `now` and returns the deadlines fired, in firing order.
std::vector<uint64_t> AdvanceTo(TimerWheel& wheel, uint64_t now) {
  std::vector<uint64_t> fired;
  wheel.Advance(now, [&fired](TimerWheel::Entry* e) {
    fired.push_back(e->deadline_tick);
  });
  return fired;
}

void Insert(TimerWheel& wheel, TestEntry& entry, uint64_t deadline) {
  entry.deadline_tick = deadline;
  wheel.Insert(&entry);
}

// Powers of 64: the span of one slot at each level.
uint64_t SlotSpan(int level) { return uint64_t{1} << (6 * level); }

TEST(TimerWheel, AnEmptyWheelHasNoNextExpirationAndFiresNothing) {
  TimerWheel wheel;
  EXPECT_TRUE(wheel.IsEmpty());
  EXPECT_FALSE(wheel.NextExpiration().has_value());
  EXPECT_TRUE(AdvanceTo(wheel, 1'000'000).empty());
  EXPECT_EQ(wheel.elapsed(), 1'000'000u);
}

TEST(TimerWheel, OneAdvanceOverManyDeadlinesFiresThemInDeadlineOrder) {
  // Deadlines spread over four levels; some share a higher-level slot and
  // were inserted earliest-first (64 then 65, 4098 then 4100), so a slot's
  // list order is not their deadline order.
  const std::vector<uint64_t> deadlines = {
      700, 5, 64, 1, 4098, 4100, 3, 63, 65, 4095, 200, 2, 4096, 262144, 262143};
  std::vector<TestEntry> entries(deadlines.size());
  TimerWheel wheel;
  for (std::size_t i = 0; i < deadlines.size(); ++i) {
    Insert(wheel, entries[i], deadlines[i]);
  }
  std::vector<uint64_t> expected = deadlines;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(AdvanceTo(wheel, 1'000'000), expected);
  EXPECT_TRUE(wheel.IsEmpty());
}

TEST(TimerWheel, EntriesCascadeFromEveryLevelAndFireExactlyAtTheirDeadline) {
  // For several starting points, deadlines on both sides of every level's
  // boundary: each fires when time reaches it, not a tick before.
  for (uint64_t start : {uint64_t{0}, uint64_t{1}, uint64_t{100},
                         uint64_t{4000}, uint64_t{262100}, kMaxTicks - 3}) {
    SCOPED_TRACE(testing::Message() << "start " << start);
    TimerWheel wheel;
    ASSERT_TRUE(AdvanceTo(wheel, start).empty());
    std::set<uint64_t> deadline_set;
    for (int level = 1; level < TimerWheel::kLevels; ++level) {
      const uint64_t b = SlotSpan(level);
      for (uint64_t d : {b - 1, b, b + 1, start + b - 1, start + b,
                         start + b + 1, (start / b + 1) * b}) {
        if (d > start) deadline_set.insert(d);
      }
    }
    std::vector<uint64_t> deadlines(deadline_set.begin(), deadline_set.end());
    std::vector<TestEntry> entries(deadlines.size());
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
      Insert(wheel, entries[i], deadlines[i]);
    }
    for (uint64_t d : deadlines) {
      const auto next = wheel.NextExpiration();
      ASSERT_TRUE(next.has_value());
      ASSERT_GT(next->deadline, wheel.elapsed());
      ASSERT_LE(next->deadline, d);
      EXPECT_TRUE(AdvanceTo(wheel, d - 1).empty()) << "early before " << d;
      EXPECT_EQ(AdvanceTo(wheel, d), std::vector<uint64_t>{d});
    }
    EXPECT_TRUE(wheel.IsEmpty());
  }
}

TEST(TimerWheel, RemovedEntriesNeverFire) {
  TimerWheel wheel;
  TestEntry a, b, c, d, e, never_inserted;
  Insert(wheel, a, 10);
  Insert(wheel, b, 10);
  Insert(wheel, c, 100);
  Insert(wheel, d, 5000);
  Insert(wheel, e, kMaxTicks + 1);
  wheel.Remove(&b);
  wheel.Remove(&d);
  wheel.Remove(&e);
  wheel.Remove(&e);               // twice: a no-op
  wheel.Remove(&never_inserted);  // never inserted: a no-op
  EXPECT_EQ(b.level, -1);
  EXPECT_EQ(AdvanceTo(wheel, 3 * kMaxTicks), (std::vector<uint64_t>{10, 100}));
  EXPECT_TRUE(wheel.IsEmpty());
}

TEST(TimerWheel, RemovingTheOnlyEntryOfASlotClearsThatSlot) {
  TimerWheel wheel;
  TestEntry x, y, z;
  Insert(wheel, x, 100);
  wheel.Remove(&x);
  EXPECT_TRUE(wheel.IsEmpty());
  EXPECT_FALSE(wheel.NextExpiration().has_value());

  Insert(wheel, y, 10);
  Insert(wheel, z, 200);
  wheel.Remove(&y);
  const auto next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  // z sits in level 1, slot 3 (ticks 192..255).
  EXPECT_EQ(next->level, 1);
  EXPECT_EQ(next->deadline, 192u);
  EXPECT_EQ(AdvanceTo(wheel, 1000), std::vector<uint64_t>{200});
}

TEST(TimerWheel, NextExpirationIsTheStartOfTheEarliestOccupiedSlot) {
  TimerWheel wheel;
  TestEntry a, b, c;
  Insert(wheel, a, 10);
  Insert(wheel, b, 5);
  auto next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->level, 0);
  EXPECT_EQ(next->deadline, 5u);
  AdvanceTo(wheel, 10);

  // Level 1: the slot holding 100 starts at 64; once time gets there the
  // entry cascades to level 0 and its exact deadline is next.
  Insert(wheel, c, 100);
  next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->level, 1);
  EXPECT_EQ(next->deadline, 64u);
  EXPECT_TRUE(AdvanceTo(wheel, 64).empty());
  next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->level, 0);
  EXPECT_EQ(next->deadline, 100u);
  EXPECT_EQ(AdvanceTo(wheel, 100), std::vector<uint64_t>{100});

  // Level 2, seen from an elapsed time in the middle of a level-1 slot.
  TestEntry d;
  Insert(wheel, d, 4096 + 30);
  next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->level, 2);
  EXPECT_EQ(next->deadline, 4096u);
}

TEST(TimerWheel, AnEntryBeyondTheSpanFromAStartedWheelIsNotDueYet) {
  // Minimal reproduction: once time has moved, an entry further away than
  // the wheel spans wraps the top level into the slot time is in. That slot
  // must be reported a whole rotation ahead, not in the past (which would
  // make Advance re-process it forever).
  TimerWheel wheel;
  AdvanceTo(wheel, 1);
  TestEntry far;
  Insert(wheel, far, kMaxTicks + 100);
  const auto next = wheel.NextExpiration();
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(next->deadline, wheel.elapsed());
  EXPECT_LE(next->deadline, kMaxTicks + 100);
}

TEST(TimerWheel, EntriesBeyondTheSpanNeverFireEarly) {
  for (uint64_t start : {uint64_t{0}, uint64_t{1}, uint64_t{12345},
                         kMaxTicks / 2, kMaxTicks + 7}) {
    SCOPED_TRACE(testing::Message() << "start " << start);
    TimerWheel wheel;
    AdvanceTo(wheel, start);
    TestEntry near, far, farther;
    Insert(wheel, near, start + 10);
    Insert(wheel, far, start + kMaxTicks + 5);
    Insert(wheel, farther, start + 3 * kMaxTicks + 7);
    // Drive the wheel the way the runtime's deterministic mode does: jump to
    // the next expiration each time. Every fire must happen exactly at its
    // deadline, and the whole run must take a bounded number of steps.
    std::vector<uint64_t> fired;
    int steps = 0;
    while (const auto next = wheel.NextExpiration()) {
      ASSERT_GT(next->deadline, wheel.elapsed()) << "a slot in the past";
      ASSERT_LT(++steps, 100);
      const uint64_t now = next->deadline;
      for (uint64_t d : AdvanceTo(wheel, now)) {
        EXPECT_EQ(d, now);
        fired.push_back(d);
      }
    }
    EXPECT_EQ(fired, (std::vector<uint64_t>{start + 10, start + kMaxTicks + 5,
                                            start + 3 * kMaxTicks + 7}));
    // And in big jumps: never before the deadline.
    TimerWheel jumpy;
    AdvanceTo(jumpy, start);
    Insert(jumpy, far, start + kMaxTicks + 5);
    const auto next = jumpy.NextExpiration();
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(next->deadline, jumpy.elapsed());
    EXPECT_TRUE(AdvanceTo(jumpy, start + kMaxTicks - 1).empty());
    EXPECT_TRUE(AdvanceTo(jumpy, start + kMaxTicks + 4).empty());
    EXPECT_EQ(AdvanceTo(jumpy, start + kMaxTicks + 5),
              std::vector<uint64_t>{start + kMaxTicks + 5});
  }
}

// Random inserts, removes and advances (of every magnitude, including past
// the wheel's span), checked after every step against a multimap.
TEST(TimerWheel, RandomOperationsMatchASortedReferenceModel) {
  constexpr int kSteps = 200'000;
  constexpr int kPool = 1000;
  std::mt19937_64 rng(test::TestSeed());
  // Log-uniform in [1, 2^bits_max]: every level gets its share.
  auto log_uniform = [&rng](int bits_max) -> uint64_t {
    const int bits =
        static_cast<int>(rng() % static_cast<uint64_t>(bits_max + 1));
    return 1 + (rng() & ((uint64_t{1} << bits) - 1));
  };

  TimerWheel wheel;
  std::vector<TestEntry> pool(kPool);
  std::vector<int> live;            // ids in the wheel
  std::vector<int> pos(kPool, -1);  // index of an id in `live`
  std::vector<int> free_ids;
  for (int i = kPool - 1; i >= 0; --i) {
    pool[static_cast<std::size_t>(i)].id = i;
    free_ids.push_back(i);
  }
  std::multimap<uint64_t, int> model;  // deadline -> id

  auto forget = [&](int id) {
    const int p = pos[static_cast<std::size_t>(id)];
    const int back = live.back();
    live[static_cast<std::size_t>(p)] = back;
    pos[static_cast<std::size_t>(back)] = p;
    live.pop_back();
    pos[static_cast<std::size_t>(id)] = -1;
    free_ids.push_back(id);
  };
  auto erase_from_model = [&](uint64_t deadline, int id) {
    auto [lo, hi] = model.equal_range(deadline);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == id) {
        model.erase(it);
        return true;
      }
    }
    return false;
  };

  for (int step = 0; step < kSteps; ++step) {
    const uint64_t op = rng() % 10;
    if (op < 5 && !free_ids.empty()) {
      const int id = free_ids.back();
      free_ids.pop_back();
      TestEntry& e = pool[static_cast<std::size_t>(id)];
      Insert(wheel, e, wheel.elapsed() + log_uniform(38));
      model.emplace(e.deadline_tick, id);
      pos[static_cast<std::size_t>(id)] = static_cast<int>(live.size());
      live.push_back(id);
    } else if (op < 7 && !live.empty()) {
      const int id = live[rng() % live.size()];
      TestEntry& e = pool[static_cast<std::size_t>(id)];
      wheel.Remove(&e);
      ASSERT_TRUE(erase_from_model(e.deadline_tick, id));
      forget(id);
    } else {
      // Mostly small steps, sometimes huge ones.
      const uint64_t now = wheel.elapsed() + log_uniform(37) - 1;
      std::vector<TestEntry*> fired;
      wheel.Advance(now, [&fired](TimerWheel::Entry* e) {
        fired.push_back(static_cast<TestEntry*>(e));
      });
      ASSERT_EQ(wheel.elapsed(), now);
      std::vector<std::pair<uint64_t, int>> expected;
      for (auto it = model.begin(); it != model.end() && it->first <= now;) {
        expected.emplace_back(it->first, it->second);
        it = model.erase(it);
      }
      std::vector<std::pair<uint64_t, int>> got;
      for (std::size_t i = 0; i < fired.size(); ++i) {
        if (i > 0) {
          ASSERT_LE(fired[i - 1]->deadline_tick, fired[i]->deadline_tick)
              << "fired out of deadline order at step " << step;
        }
        got.emplace_back(fired[i]->deadline_tick, fired[i]->id);
        forget(fired[i]->id);
      }
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(got, expected) << "at step " << step;
    }
    ASSERT_EQ(wheel.IsEmpty(), model.empty()) << "at step " << step;
    if (!model.empty()) {
      const auto next = wheel.NextExpiration();
      ASSERT_TRUE(next.has_value());
      ASSERT_GT(next->deadline, wheel.elapsed()) << "at step " << step;
      ASSERT_LE(next->deadline, model.begin()->first) << "at step " << step;
    }
  }
}

}  // namespace
}  // namespace troupe
