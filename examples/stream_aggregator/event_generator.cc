#include "examples/stream_aggregator/event_generator.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "examples/stream_aggregator/event_batch.h"

namespace troupe::aggregator {

EventGenerator::EventGenerator(const GeneratorOptions& options)
    : options_(options),
      key_arena_(static_cast<size_t>(options.keys) * kKeySlot, '\0'),
      state_(options.seed),
      ms_(options.start_ms),
      left_in_ms_(options.events_per_ms) {
  for (int k = 0; k < options.keys; ++k) {
    // "key-2147483647" has 14 characters: every key fits its slot.
    const std::string key = "key-" + std::to_string(k);
    char* slot = &key_arena_[static_cast<size_t>(k) * kKeySlot];
    key.copy(slot, key.size());
    slot[kKeySlot - 1] = static_cast<char>(key.size());
  }
}

// splitmix64 (Steele, Lea and Flood): fast, and the same everywhere.
uint64_t EventGenerator::NextRandom() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool EventGenerator::Next(EventView* event) {
  if (next_ >= options_.events) return false;
  ++next_;
  if (left_in_ms_ == 0) {
    ++ms_;
    left_in_ms_ = options_.events_per_ms;
  }
  --left_in_ms_;
  const uint64_t disorder =
      Below(static_cast<uint64_t>(options_.disorder_ms) + 1);
  event->ts_ms = ms_ - static_cast<int64_t>(disorder);
  const char* slot =
      &key_arena_[Below(static_cast<uint64_t>(options_.keys)) * kKeySlot];
  event->key = std::string_view(slot, static_cast<size_t>(slot[kKeySlot - 1]));
  const uint64_t v = NextRandom();
  const double u = static_cast<double>(v >> 11) * 0x1.0p-53;
  double value = 20 + 10 * (u - 0.5);
  if (v % 100 == 0) value *= 10;
  event->value = std::round(value * 1000) / 1000;
  return true;
}

std::string GenerateNdjson(const GeneratorOptions& options) {
  EventGenerator generator(options);
  std::string text;
  EventView event;
  while (generator.Next(&event)) {
    AppendEventLine(event.key, event.ts_ms, event.value, &text);
    text.push_back('\n');
  }
  return text;
}

Task<absl::Status> RunGenerator(std::unique_ptr<InputPort> port,
                                GeneratorOptions options,
                                CancellationToken stop) {
  EventGenerator generator(options);
  EventView event;
  absl::Status status;
  while (generator.Next(&event)) {
    if (!port->Add(event.key, event.ts_ms, event.value)) continue;
    status = co_await port->Flush();
    if (!status.ok() || stop.IsCancelled()) break;
  }
  const absl::Status closed = co_await port->Close();
  co_return status.ok() ? closed : status;
}

}  // namespace troupe::aggregator
