// The built-in event generator (--generate=N): a deterministic stream for
// benchmarks and tests, with no parsing on the way in.
//
// Event i (0-based) of a run:
//   key    "key-<k>", k uniform in [0, keys)
//   ts     start_ms + i / events_per_ms - d, d uniform in [0, disorder_ms]
//          (so at most disorder_ms out of order; disorder 0: in order)
//   value  20 + 10 (u - 0.5) for u uniform in [0, 1), one in 100 times ten
//          times that (a heavy tail), rounded to 0.001
// drawn from a splitmix64 stream seeded with `seed` (a draw r is mapped to
// [0, n) as the high 64 bits of r x n): the same options give the same
// events on every machine, whatever the batching. Cheap on purpose, since
// it feeds benchmarks: no division per event, and the keys live in one
// array of 16-byte slots (1.6 MB for 100,000 keys).
//
// Example:
//   EventGenerator generator({.events = 3, .keys = 2, .seed = 7});
//   EventView e;
//   while (generator.Next(&e)) Use(e.key, e.ts_ms, e.value);

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_GENERATOR_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/input_port.h"
#include "executor/cancellation_token.h"
#include "executor/task.h"

namespace troupe::aggregator {

struct GeneratorOptions {
  int64_t events = 0;
  int keys = 1000;          // >= 1
  int64_t disorder_ms = 0;  // >= 0
  uint64_t seed = 1;
  int64_t events_per_ms = 1000;  // >= 1: the pace of event time
  int64_t start_ms = 1'764'288'000'000;
};

class EventGenerator {
 public:
  explicit EventGenerator(const GeneratorOptions& options);

  // The next event, or false once `events` were generated. The key points
  // into the generator and stays valid as long as it does.
  bool Next(EventView* event);

 private:
  uint64_t NextRandom();
  // A draw mapped to [0, n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(NextRandom()) * n) >> 64);
  }

  // Key k is the first key_arena_[16 k + 15] bytes of its 16-byte slot.
  static constexpr size_t kKeySlot = 16;

  const GeneratorOptions options_;
  std::string key_arena_;
  uint64_t state_;
  int64_t next_ = 0;
  int64_t ms_ = 0;          // the in-order time of the current event
  int64_t left_in_ms_ = 0;  // events still to come in that millisecond
};

// The whole stream as NDJSON, one line per event (for the sequential
// driver, and the benchmark's parsing runs).
std::string GenerateNdjson(const GeneratorOptions& options);

// Pushes the stream into `port` (stopping early if `stop` is cancelled),
// then closes it.
Task<absl::Status> RunGenerator(std::unique_ptr<InputPort> port,
                                GeneratorOptions options,
                                CancellationToken stop);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_GENERATOR_H_
