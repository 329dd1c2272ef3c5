// Sharding: N engines, each fed the events of its keys with the watermark
// before each event plus occasional watermark broadcasts, emit exactly the
// lines of the single-engine driver (only the interleaving differs). This
// is the property the actor pipeline relies on.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/result_format.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "examples/stream_aggregator/watermark.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;

std::vector<std::string> Stream(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> lines;
  int64_t t = 0;
  for (int i = 0; i < 5'000; ++i) {
    t += static_cast<int64_t>(rng() % 200);
    int64_t ts = t + static_cast<int64_t>(rng() % 4'000) - 2'000;
    if (rng() % 25 == 0) ts = t - static_cast<int64_t>(rng() % 30'000);
    lines.push_back(EventLine("key" + std::to_string(rng() % 17), ts,
                              static_cast<double>(rng() % 1000) / 10));
    if (rng() % 50 == 0) lines.emplace_back("{not an event}");
  }
  return lines;
}

std::vector<std::string> Sharded(const std::vector<std::string>& lines,
                                 const AggregatorOptions& options, int shards,
                                 int broadcast_every) {
  std::vector<std::string> out;
  std::vector<std::unique_ptr<KeyedWindowEngine>> engines;
  engines.reserve(shards);
  for (int i = 0; i < shards; ++i) {
    engines.push_back(std::make_unique<KeyedWindowEngine>(
        EngineOptions{options.window, options.allowed_lateness_ms},
        [&out](const WindowResult& r) { out.push_back(FormatResultLine(r)); }));
  }
  // The router: parses, keeps the watermark, forwards.
  WatermarkTracker tracker(options.max_out_of_orderness_ms, kNeverIdle);
  const int input = tracker.AddInput(0);
  EventParser parser;
  int n = 0;
  for (const std::string& line : lines) {
    EventView event;
    if (parser.Parse(line, &event) != ParseError::kNone) continue;
    const size_t shard = std::hash<std::string_view>()(event.key) % shards;
    const EventOutcome outcome = engines[shard]->OnEvent(
        event.key, event.ts_ms, event.value, tracker.watermark());
    if (outcome == EventOutcome::kOnTime || outcome == EventOutcome::kLate ||
        outcome == EventOutcome::kDroppedLate) {
      tracker.OnEvent(input, event.ts_ms, 0);
    }
    if (++n % broadcast_every == 0) {
      for (auto& engine : engines) engine->OnWatermark(tracker.watermark());
    }
  }
  for (auto& engine : engines) engine->Flush();
  return out;
}

void ExpectShardingChangesNothing(const AggregatorOptions& options,
                                  uint64_t seed) {
  const std::vector<std::string> lines = Stream(seed);
  std::vector<std::string> sequential =
      RunSequential(testing::Lines(lines), options).results;
  ASSERT_GT(sequential.size(), 200u);
  std::sort(sequential.begin(), sequential.end());
  for (int shards : {1, 3, 8}) {
    for (int every : {1, 13, 1'000'000}) {
      std::vector<std::string> sharded = Sharded(lines, options, shards, every);
      std::sort(sharded.begin(), sharded.end());
      EXPECT_EQ(sharded, sequential)
          << shards << " shards, broadcast every " << every;
    }
  }
}

TEST(ShardingTest, ShardedTumblingEnginesEmitTheSequentialLines) {
  ExpectShardingChangesNothing(testing::Options("tumbling:5s", 1'000, 10'000),
                               testing::TestSeed(41));
}

TEST(ShardingTest, ShardedSlidingEnginesEmitTheSequentialLines) {
  ExpectShardingChangesNothing(testing::Options("sliding:6s/2s", 500, 4'000),
                               testing::TestSeed(42));
}

TEST(ShardingTest, ShardedSessionEnginesEmitTheSequentialLines) {
  ExpectShardingChangesNothing(testing::Options("session:700ms", 1'000, 20'000),
                               testing::TestSeed(43));
}

}  // namespace
}  // namespace troupe::aggregator
