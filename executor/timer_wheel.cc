#include "executor/timer_wheel.h"

#include <bit>

namespace troupe {

bool TimerWheel::IsEmpty() const {
  for (uint64_t bits : occupied_) {
    if (bits != 0) return false;
  }
  return true;
}

int TimerWheel::LevelFor(uint64_t deadline) const {
  // The highest 6-bit digit in which deadline and elapsed differ. OR-ing in
  // kSlots - 1 makes an entry due in the current tick land on level 0.
  uint64_t masked = (elapsed_ ^ deadline) | (kSlots - 1);
  if (masked >= kMaxTicks) masked = kMaxTicks - 1;
  const int significant = 63 - std::countl_zero(masked);
  return significant / kSlotBits;
}

void TimerWheel::Insert(Entry* entry) {
  uint64_t placement = entry->deadline_tick;
  // Too far ahead: park it at the top level; it is re-placed (not fired)
  // when that slot comes round, because its real deadline is still ahead.
  if (placement - elapsed_ >= kMaxTicks) placement = elapsed_ + kMaxTicks - 1;
  const int level = LevelFor(placement);
  const uint64_t slot = (placement >> (kSlotBits * level)) & (kSlots - 1);
  entry->level = static_cast<int16_t>(level);
  entry->slot = static_cast<uint8_t>(slot);
  entry->prev = nullptr;
  entry->next = slots_[level][slot];
  if (entry->next != nullptr) entry->next->prev = entry;
  slots_[level][slot] = entry;
  occupied_[level] |= uint64_t{1} << slot;
}

void TimerWheel::Remove(Entry* entry) {
  if (entry->level < 0) return;
  const int level = entry->level;
  const uint64_t slot = entry->slot;
  if (entry->prev != nullptr) {
    entry->prev->next = entry->next;
  } else {
    slots_[level][slot] = entry->next;
  }
  if (entry->next != nullptr) entry->next->prev = entry->prev;
  if (slots_[level][slot] == nullptr)
    occupied_[level] &= ~(uint64_t{1} << slot);
  entry->prev = entry->next = nullptr;
  entry->level = -1;
}

std::optional<TimerWheel::Expiration> TimerWheel::NextExpiration() const {
  for (int level = 0; level < kLevels; ++level) {
    const uint64_t bits = occupied_[level];
    if (bits == 0) continue;
    const uint64_t slot_range = uint64_t{1} << (kSlotBits * level);
    const uint64_t level_range = slot_range << kSlotBits;
    const uint64_t now_slot = (elapsed_ / slot_range) & (kSlots - 1);
    // Search the slots after the current one first, wrapping around, and
    // the current slot last: an occupied slot at or before the current one
    // lies a rotation ahead. Only the top level wraps - entries beyond the
    // wheel's span are placed there (see Insert), possibly in the very
    // slot time is in, which must then come after every later slot of this
    // rotation rather than be taken as due now (and re-processed forever).
    // Rotate so that bit 0 is the slot after the current one.
    const uint64_t first = (now_slot + 1) & (kSlots - 1);
    const uint64_t rotated = std::rotr(bits, static_cast<int>(first));
    const uint64_t offset = static_cast<uint64_t>(std::countr_zero(rotated));
    const uint64_t slot = (first + offset) & (kSlots - 1);
    const uint64_t level_start = elapsed_ & ~(level_range - 1);
    uint64_t deadline = level_start + slot * slot_range;
    if (deadline <= elapsed_) deadline += level_range;  // wrapped
    // Lower levels always expire first: their slots lie inside the current
    // slot of every higher level.
    return Expiration{level, slot, deadline};
  }
  return std::nullopt;
}

TimerWheel::Entry* TimerWheel::TakeSlot(int level, uint64_t slot) {
  Entry* list = slots_[level][slot];
  slots_[level][slot] = nullptr;
  occupied_[level] &= ~(uint64_t{1} << slot);
  return list;
}

}  // namespace troupe
