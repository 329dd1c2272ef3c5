// TimerWheel: a hierarchical timing wheel of intrusive timer entries.
//
// Six levels of 64 slots. Level L's slots each span 64^L ticks (a tick is
// one millisecond in the runtime), so the wheel covers 64^6 ticks (~2.2
// years) ahead of `elapsed`. An entry sits at the level of the highest
// 6-bit digit in which its deadline differs from `elapsed`, in the slot
// given by that digit. When time reaches a slot at level L > 0, its entries
// cascade down to the level where they now belong; level 0 entries fire.
// A deadline further away than the wheel spans is placed at the top level
// and re-placed each time its slot comes round, so nothing ever fires early.
//
// Contract: not thread-safe; its owner (TimeDriver) serialises access.
// Insert, Remove and finding the next expiry are O(1); Advance is O(levels +
// entries touched). Entries are intrusive: the wheel never allocates.
//
// Example:
//   TimerWheel wheel;
//   TimerWheel::Entry e; e.deadline_tick = 10;
//   wheel.Insert(&e);
//   wheel.Advance(10, [](TimerWheel::Entry* fired) { ... });
#ifndef TROUPE_EXECUTOR_TIMER_WHEEL_H_
#define TROUPE_EXECUTOR_TIMER_WHEEL_H_

#include <cstdint>
#include <optional>

namespace troupe {

class TimerWheel {
 public:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr uint64_t kSlots = uint64_t{1} << kSlotBits;
  static constexpr uint64_t kMaxTicks = uint64_t{1} << (kSlotBits * kLevels);

  struct Entry {
    uint64_t deadline_tick = 0;
    Entry* prev = nullptr;
    Entry* next = nullptr;
    int16_t level = -1;  // -1: not in the wheel
    uint8_t slot = 0;
  };

  struct Expiration {
    int level;
    uint64_t slot;
    uint64_t deadline;  // the tick at which this slot is processed
  };

  TimerWheel() = default;
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  uint64_t elapsed() const { return elapsed_; }
  bool IsEmpty() const;

  // Requires entry->deadline_tick > elapsed() (a due entry is the caller's
  // to fire) and that the entry is not in the wheel.
  void Insert(Entry* entry);
  // No-op for an entry that is not in the wheel.
  void Remove(Entry* entry);

  // The earliest slot to process, if any entry is in the wheel.
  std::optional<Expiration> NextExpiration() const;

  // Moves time to `now`, calling fire(entry) for every entry whose deadline
  // is <= now (each already removed from the wheel when fire runs; fire may
  // not touch the wheel). Entries fire in deadline order (entries due in
  // the same tick in any order), however far `now` jumps.
  template <typename Fire>
  void Advance(uint64_t now, Fire&& fire) {
    while (true) {
      const std::optional<Expiration> exp = NextExpiration();
      if (!exp.has_value() || exp->deadline > now) break;
      Entry* list = TakeSlot(exp->level, exp->slot);
      // Time moves to the start of the slot, not straight to `now`: only
      // the entries due at that tick fire; the others cascade to the lower
      // level where they now belong and fire when time reaches them, so a
      // slot's list order never becomes firing order.
      if (exp->deadline > elapsed_) elapsed_ = exp->deadline;
      while (list != nullptr) {
        Entry* entry = list;
        list = entry->next;
        entry->prev = entry->next = nullptr;
        entry->level = -1;
        if (entry->deadline_tick <= elapsed_) {
          fire(entry);
        } else {
          Insert(entry);  // cascade to a lower level
        }
      }
    }
    if (now > elapsed_) elapsed_ = now;
  }

 private:
  int LevelFor(uint64_t deadline) const;
  Entry* TakeSlot(int level, uint64_t slot);

  uint64_t elapsed_ = 0;
  uint64_t occupied_[kLevels] = {};
  Entry* slots_[kLevels][kSlots] = {};
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_TIMER_WHEEL_H_
