// Session windows of every key of one engine (one shard).
//
// A key's session is a maximal run of its events whose consecutive
// timestamps differ by less than the gap; its window is
// [first ts, last ts + gap). Sessions of a key are disjoint and kept in a map
// by first ts. An event at ts joins the session before it if
// ts < last + gap, and the session after it if first - gap < ts; joining both
// merges them (only a late or out-of-order event can bridge two sessions).
//
// Merging and revisions (rule 2). The merged session keeps the largest
// revision of its parts: it counts as emitted if any part was, and its next
// line has revision max(revisions of the parts) + 1, so it sorts after, and
// supersedes, every earlier line of the key whose span it contains. As for
// any window, a late event that changes an emitted session emits it at once
// (rule 5), even if the merged session's new end is beyond the watermark;
// a later non-late change waits for the watermark to pass the new end. A
// session none of whose parts was emitted fires when the watermark passes
// its end, with revision 0.
//
// Timers. Firing and freeing are driven by a min-heap of (due, sequence)
// timers, at most one live timer per session: due = end while the end is
// ahead of the watermark, then end + allowed_lateness, when the session is
// freed (no accepted event can reach it: it would need ts < end <= w -
// allowed_lateness). A session that grows keeps its timer if it is due no
// later than needed (it re-arms itself when it comes due early), else gets
// a new one; timers of sessions that merged away, changed their first ts or
// were re-armed become stale and are skipped. A key whose sessions
// are all freed is erased once no timer refers to it.
//
// Implements the WindowStore contract (window_state.h); single-threaded.
//
// Example (normally driven by KeyedWindowEngine):
//   SessionWindows store(30'000, 0, &sink);
//   store.Add("k", 1000, 1.0, QuantileSketch::SlotOf(1.0), kNoWatermark);
//   store.Add("k", 20000, 2.0, QuantileSketch::SlotOf(2.0), 1000);
//   store.AdvanceWatermark(50000);  // emits k [1000,50000) count 2

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_SESSION_WINDOWS_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_SESSION_WINDOWS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "examples/stream_aggregator/window_state.h"

namespace troupe::aggregator {

class SessionWindows final : public WindowStore {
 public:
  // `sink` must outlive the store. Requires gap_ms > 0.
  SessionWindows(int64_t gap_ms, int64_t allowed_lateness_ms,
                 const ResultSink* sink);

  void Add(std::string_view key, int64_t ts_ms, double value,
           QuantileSketch::Slot slot, int64_t watermark) override;
  void AdvanceWatermark(int64_t watermark) override;
  void Flush() override;
  size_t live_windows() const override { return live_sessions_; }

 private:
  struct Session {
    int64_t last_ms = 0;  // the first ts is the map key
    WindowState state;
    uint64_t timer = 0;  // sequence of its live timer; 0: none
    int64_t timer_due_ms = 0;
  };
  struct KeySessions {
    std::string key;
    std::map<int64_t, Session> sessions;  // by first ts
    uint32_t timers = 0;                  // heap entries pointing here
  };
  struct Timer {
    int64_t due_ms;
    uint64_t sequence;
    KeySessions* owner;
    int64_t first_ms;  // identifies the session, with `sequence`
    bool operator>(const Timer& other) const {
      return due_ms != other.due_ms ? due_ms > other.due_ms
                                    : sequence > other.sequence;
    }
  };

  int64_t EndOf(const Session& session) const {
    return session.last_ms + gap_ms_;
  }
  void Arm(KeySessions& owner, int64_t first_ms, Session& session);
  void OnTimer(const Timer& timer);

  const int64_t gap_ms_;
  const int64_t allowed_lateness_ms_;
  const ResultSink* const sink_;
  absl::node_hash_map<std::string, KeySessions> keys_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t next_sequence_ = 1;
  int64_t watermark_ = kNoWatermark;
  size_t live_sessions_ = 0;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_SESSION_WINDOWS_H_
