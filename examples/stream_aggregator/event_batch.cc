#include "examples/stream_aggregator/event_batch.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "examples/stream_aggregator/result_format.h"

namespace troupe::aggregator {

void EventBatch::Add(std::string_view key, int64_t ts_ms, double value,
                     std::string_view line, int64_t watermark) {
  Entry entry;
  entry.key_offset = bytes_.size();
  entry.key_size = static_cast<uint32_t>(key.size());
  bytes_.append(key);
  entry.line_offset = bytes_.size();
  entry.line_size = static_cast<uint32_t>(line.size());
  bytes_.append(line);
  entry.ts_ms = ts_ms;
  entry.value = value;
  entry.watermark = watermark;
  entries_.push_back(entry);
}

void EventBatch::Clear() {
  entries_.clear();
  bytes_.clear();
}

void EventBatch::Reserve(size_t events, size_t bytes) {
  entries_.reserve(events);
  bytes_.reserve(bytes);
}

void AppendEventLine(std::string_view key, int64_t ts_ms, double value,
                     std::string* out) {
  out->append("{\"key\":");
  AppendJsonString(key, out);
  out->append(",\"tsMs\":\"");
  out->append(std::to_string(ts_ms));
  out->append("\",\"value\":");
  AppendJsonNumber(value, out);
  out->push_back('}');
}

}  // namespace troupe::aggregator
