#include "examples/stream_aggregator/session_windows.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "examples/stream_aggregator/window_spec.h"

namespace troupe::aggregator {
namespace {

// a - b exactly (timestamps may lie anywhere in int64).
__int128 Difference(int64_t a, int64_t b) {
  return static_cast<__int128>(a) - static_cast<__int128>(b);
}

}  // namespace

SessionWindows::SessionWindows(int64_t gap_ms, int64_t allowed_lateness_ms,
                               const ResultSink* sink)
    : gap_ms_(gap_ms), allowed_lateness_ms_(allowed_lateness_ms), sink_(sink) {
  assert(gap_ms > 0);
}

void SessionWindows::Add(std::string_view key, int64_t ts_ms, double value,
                         QuantileSketch::Slot slot, int64_t watermark) {
  const bool late = ts_ms < watermark;
  auto key_it = keys_.find(absl::string_view(key.data(), key.size()));
  if (key_it == keys_.end()) {
    key_it = keys_.try_emplace(std::string(key)).first;
    key_it->second.key = std::string(key);
  }
  KeySessions& owner = key_it->second;
  std::map<int64_t, Session>& sessions = owner.sessions;

  auto next = sessions.upper_bound(ts_ms);  // first ts > ts_ms
  auto previous = next == sessions.begin() ? sessions.end() : std::prev(next);
  const bool joins_previous =
      previous != sessions.end() &&
      Difference(ts_ms, previous->second.last_ms) < gap_ms_;
  const bool joins_next =
      next != sessions.end() && Difference(next->first, ts_ms) < gap_ms_;

  std::map<int64_t, Session>::iterator target;
  if (joins_previous && joins_next) {
    // The event bridges two sessions: the earlier one absorbs the later.
    Session& into = previous->second;
    Session& from = next->second;
    into.state.aggregate.Merge(from.state.aggregate);
    into.state.revision = std::max(into.state.revision, from.state.revision);
    into.last_ms = from.last_ms;
    sessions.erase(next);  // its timer goes stale
    --live_sessions_;
    target = previous;
  } else if (joins_previous) {
    target = previous;
    target->second.last_ms = std::max(target->second.last_ms, ts_ms);
  } else if (joins_next) {
    // The session now starts at ts_ms: re-key it; its timer goes stale.
    auto node = sessions.extract(next);
    node.key() = ts_ms;
    node.mapped().timer = 0;
    target = sessions.insert(std::move(node)).position;
  } else {
    target = sessions.try_emplace(ts_ms).first;
    target->second.last_ms = ts_ms;
    ++live_sessions_;
  }

  Session& session = target->second;
  session.state.aggregate.Add(value, slot);
  session.state.dirty = true;
  const int64_t end = EndOf(session);
  if (late && (session.state.emitted() || end <= watermark)) {
    Emit(*sink_, owner.key, target->first, end, session.state);
  }
  Arm(owner, target->first, session);
}

void SessionWindows::Arm(KeySessions& owner, int64_t first_ms,
                         Session& session) {
  const int64_t end = EndOf(session);
  // Fire at the end while it is ahead; afterwards free at end + lateness.
  const int64_t due =
      end > watermark_ ? end : SaturatingAdd(end, allowed_lateness_ms_);
  if (session.timer != 0 && session.timer_due_ms <= due) return;
  session.timer = next_sequence_++;
  session.timer_due_ms = due;
  ++owner.timers;
  timers_.push(Timer{due, session.timer, &owner, first_ms});
}

void SessionWindows::OnTimer(const Timer& timer) {
  KeySessions& owner = *timer.owner;
  --owner.timers;
  auto it = owner.sessions.find(timer.first_ms);
  if (it != owner.sessions.end() && it->second.timer == timer.sequence) {
    Session& session = it->second;
    session.timer = 0;
    const int64_t end = EndOf(session);
    if (session.state.dirty && end <= watermark_) {
      Emit(*sink_, owner.key, it->first, end, session.state);
    }
    if (SaturatingAdd(end, allowed_lateness_ms_) <= watermark_) {
      owner.sessions.erase(it);
      --live_sessions_;
    } else {
      Arm(owner, it->first, session);
    }
  }
  if (owner.sessions.empty() && owner.timers == 0) {
    keys_.erase(keys_.find(owner.key));
  }
}

void SessionWindows::AdvanceWatermark(int64_t watermark) {
  if (watermark <= watermark_) return;
  watermark_ = watermark;
  while (!timers_.empty() && timers_.top().due_ms <= watermark) {
    const Timer timer = timers_.top();
    timers_.pop();
    OnTimer(timer);
  }
}

void SessionWindows::Flush() {
  struct Pending {
    int64_t end;
    int64_t first;
    const std::string* key;
    WindowState* state;
  };
  std::vector<Pending> pending;
  for (auto& [key, owner] : keys_) {
    for (auto& [first, session] : owner.sessions) {
      if (session.state.dirty) {
        pending.push_back({EndOf(session), first, &owner.key, &session.state});
      }
    }
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) {
              return std::tie(a.end, a.first, *a.key) <
                     std::tie(b.end, b.first, *b.key);
            });
  for (const Pending& p : pending) {
    Emit(*sink_, *p.key, p.first, p.end, *p.state);
  }
}

}  // namespace troupe::aggregator
