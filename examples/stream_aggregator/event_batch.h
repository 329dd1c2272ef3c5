// EventBatch: parsed events as they travel through the actor pipeline, in
// one self-contained value (no pointers into anybody else's buffers), so a
// batch can be moved into a mailbox and handled on another thread.
//
// Each event holds its key, timestamp and value, plus two fields whose use
// depends on the hop:
//   input -> router  `line`: the raw input line, kept so that a dropped late
//                    event can be written verbatim to --late_output (empty
//                    for events that had no line, e.g. generated ones);
//   router -> shard  `watermark`: the watermark before the event (rule 3;
//                    see aggregator.h, protocol step 1).
// Keys and lines are copied into one byte arena; events refer to them by
// offset, so adding an event allocates only when the arena or the entry
// vector grows, and Clear() keeps both capacities for reuse.
//
// Thread contract: a value; one owner at a time.
//
// Example:
//   EventBatch batch;
//   batch.Add("sensor-7", 1000, 21.5, /*line=*/raw, /*watermark=*/0);
//   for (size_t i = 0; i < batch.size(); ++i) {
//     EventView e = batch.event(i);  // e.key points into the batch
//   }

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_BATCH_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "examples/stream_aggregator/event_parser.h"

namespace troupe::aggregator {

class EventBatch {
 public:
  void Add(std::string_view key, int64_t ts_ms, double value,
           std::string_view line, int64_t watermark);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // The i-th event; its key points into the batch (valid until the batch
  // changes).
  EventView event(size_t i) const {
    const Entry& e = entries_[i];
    return EventView{key(i), e.ts_ms, e.value};
  }
  std::string_view key(size_t i) const {
    const Entry& e = entries_[i];
    return std::string_view(bytes_).substr(e.key_offset, e.key_size);
  }
  std::string_view line(size_t i) const {
    const Entry& e = entries_[i];
    return std::string_view(bytes_).substr(e.line_offset, e.line_size);
  }
  int64_t ts_ms(size_t i) const { return entries_[i].ts_ms; }
  int64_t watermark(size_t i) const { return entries_[i].watermark; }

  // Drops the events and keeps the memory.
  void Clear();

  // Makes room for `events` events with `bytes` bytes of keys and lines.
  void Reserve(size_t events, size_t bytes);
  size_t bytes() const { return bytes_.size(); }

 private:
  struct Entry {
    size_t key_offset;
    size_t line_offset;
    uint32_t key_size;
    uint32_t line_size;
    int64_t ts_ms;
    double value;
    int64_t watermark;
  };
  std::vector<Entry> entries_;
  std::string bytes_;  // keys and lines
};

// Appends {"key":...,"tsMs":...,"value":...} in the canonical JSON mapping:
// the late line of an event that arrived without one (a generated event).
void AppendEventLine(std::string_view key, int64_t ts_ms, double value,
                     std::string* out);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_BATCH_H_
