#include "actors/actor_system.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/metrics.h"

namespace troupe {
namespace {

// How long Shutdown waits for aborted runners to be torn down. Aborting
// one takes effect at its next suspension point, so this is only reached
// by a handler that blocks its worker thread.
constexpr Duration kAbortGrace = std::chrono::seconds(1);

// A label value in the Prometheus text format: backslash, double quote
// and line feed escaped.
std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Task<void> AwaitTermination(CellPtr<CellBase> cell) {
  co_await cell->Terminated();
}

}  // namespace

namespace internal {
absl::Status ActorStoppedError(const std::string& detail) {
  return absl::AbortedError(absl::StrCat("actor stopped: ", detail));
}
absl::Status HandlerFailedError(const std::string& what) {
  return absl::InternalError(absl::StrCat("handler failed: ", what));
}
}  // namespace internal

absl::Status MailboxClosedError(const std::string& actor) {
  return absl::FailedPreconditionError(
      absl::StrCat("mailbox closed: ", actor, " accepts no more messages"));
}
bool IsMailboxClosed(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition;
}
bool IsActorStopped(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted;
}
bool IsHandlerFailed(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInternal;
}

// The root of the supervision tree: the parent of top-level actors. It has
// no runner; it decides about failures on the spot, under a lock.
class ActorSystem::Root final : public RunnerlessCell {
 public:
  explicit Root(ActorSystem* system)
      : RunnerlessCell(system, "system", nullptr) {}
  const char* type() const override { return "system"; }
  void ChildFailed(CellPtr<CellBase> child, const absl::Status& why) override {
    system().Log(absl::StrCat("actor ", child->name(), " (", child->type(),
                              ") failed: ", why.ToString()));
    std::lock_guard<std::mutex> guard(supervise_mu_);
    SuperviseChildNow(child, why);
  }
  bool IsRoot() const override { return true; }
  // The top level lives in the system's table (SpawnUnder does not call
  // AddChild on the root): one sharded lock per spawn, not a global one.
  std::vector<CellPtr<CellBase>> Children() const override {
    return system().table_.TopLevel();
  }

 protected:
  const SupervisorStrategy& child_strategy() const override {
    return system().options().top_level_supervision;
  }

 private:
  std::mutex supervise_mu_;
};

ActorSystem::ActorSystem(Runtime& runtime, ActorSystemOptions options)
    : runtime_(runtime),
      options_(std::move(options)),
      root_(MakeCell<Root>(this)) {
  if (options_.watchdog) {
    watchdog_ = JoinHandle<void>(
        internal::SpawnOn(runtime_.scheduler(), Watchdog(), true));
  }
}

ActorSystem::~ActorSystem() {
  bool done;
  {
    std::lock_guard<std::mutex> guard(mu_);
    done = shut_down_;
  }
  if (!done && Scheduler::Current() == nullptr) {
    ShutdownReport report = BlockingShutdown(std::chrono::seconds(5));
    if (!report.clean) Log(report.ToString());
  } else if (!done) {
    // Inside the runtime we cannot wait: abort every runner (each tears
    // its actor down when it is cancelled). Prefer co_await
    // system.Shutdown(...) before destruction.
    stop_watchdog_.Cancel();
    watchdog_.Abort();
    for (auto& cell : LiveCells()) {
      cell->CloseMailbox();
      cell->AbortRunner();
    }
  }
  // Whatever has not terminated yet (aborted runners not torn down yet, a
  // handler blocking its thread) must not reach back into this system when
  // it finally does.
  for (auto& cell : LiveCells()) cell->DetachFromSystem();
}

std::vector<CellPtr<CellBase>> ActorSystem::LiveCells() const {
  return table_.Snapshot();
}

void ActorSystem::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "troupe: %s\n", line.c_str());
  }
}

void ActorSystem::Unregister(CellBase* cell) {
  // The registry's lock only for an actor that registered a name: spawning
  // and stopping anonymous actors takes one sharded lock each.
  if (cell->CloseNames()) {
    std::lock_guard<std::mutex> guard(mu_);
    ForgetNamesLocked(cell);
  }
  table_.Forget(cell);
}

void ActorSystem::ForgetNamesLocked(CellBase* cell) {
  // Only the names this actor registered: termination stays O(1) however
  // many named actors there are.
  auto names = names_of_.find(cell->id());
  if (names == names_of_.end()) return;
  for (const std::string& name : names->second) {
    auto it = registry_.find(name);
    if (it == registry_.end()) continue;
    if (it->second.cell.get() == cell) registry_.erase(it);
  }
  names_of_.erase(names);
}

std::size_t ActorSystem::NumActors() const { return table_.Size(); }

absl::Status ActorSystem::RegisterCell(const std::string& name,
                                       const CellPtr<CellBase>& cell,
                                       std::type_index type) {
  if (name.empty()) return absl::InvalidArgumentError("empty actor name");
  std::lock_guard<std::mutex> guard(mu_);
  auto it = registry_.find(name);
  if (it != registry_.end()) {
    const CellPtr<CellBase>& existing = it->second.cell;
    if (!existing->IsTerminated()) {
      return absl::AlreadyExistsError(
          absl::StrCat("the name '", name, "' is taken by ", existing->name()));
    }
    registry_.erase(it);
  }
  if (!cell->MarkNamed()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot register '", name, "': ", cell->name(), " has stopped"));
  }
  registry_.emplace(name, Named{cell, type});
  names_of_[cell->id()].push_back(name);
  return absl::OkStatus();
}

absl::StatusOr<CellPtr<CellBase>> ActorSystem::LookupCell(
    const std::string& name, std::type_index type, const char* type_name) {
  std::lock_guard<std::mutex> guard(mu_);
  auto it = registry_.find(name);
  if (it == registry_.end()) {
    return absl::NotFoundError(absl::StrCat("no actor named '", name, "'"));
  }
  CellPtr<CellBase> cell = it->second.cell;
  if (cell->IsTerminated()) {
    return absl::NotFoundError(absl::StrCat("actor '", name, "' has stopped"));
  }
  if (it->second.type != type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "actor '", name, "' is a ", cell->type(), ", not a ", type_name));
  }
  return cell;
}

Task<ShutdownReport> ActorSystem::Shutdown(Duration deadline) {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (shut_down_) co_return ShutdownReport{};
    shut_down_ = true;
  }
  stop_watchdog_.Cancel();
  watchdog_.Abort();
  if (watchdog_.valid()) {
    // Gone before the system is: it reads the actor table and logs.
    try {
      co_await watchdog_;
    } catch (const CancelledError&) {
      // Aborted, as asked.
    }
  }
  std::vector<CellPtr<CellBase>> cells = LiveCells();
  // 1. Stop intake.
  for (auto& c : cells) c->CloseMailbox();
  // 2. Stop the top level; each stops its children first, then drains.
  std::vector<CellPtr<CellBase>> top = root_->Children();
  for (auto& c : top) c->RequestStop(absl::OkStatus());
  const Instant until = clock().Now() + deadline;
  for (auto& c : top) (void)co_await TimeoutAt(until, AwaitTermination(c));
  // 3. Report whatever is left (its depth counts the message it is stuck
  // on) and abort it.
  ShutdownReport report;
  std::vector<CellPtr<CellBase>> aborted;
  for (auto& c : cells) {
    if (c->IsTerminated()) continue;
    report.clean = false;
    report.stragglers.push_back({c->name(), c->type(), c->MailboxDepth()});
    aborted.push_back(c);
  }
  for (auto& c : aborted) c->AbortRunner();
  if (!report.clean) Log(report.ToString());
  // 4. Wait for the aborted actors to be torn down (actor_cell.h, "Abort"):
  // then their asks have failed, their watchers know, and nothing of them
  // runs any more. Bounded: a handler blocking its thread cannot be
  // aborted.
  const Instant grace = clock().Now() + kAbortGrace;
  for (auto& c : aborted) {
    absl::Status torn_down = co_await TimeoutAt(grace, AwaitTermination(c));
    if (!torn_down.ok()) {
      Log(absl::StrCat("actor ", c->name(), " (", c->type(),
                       ") could not be aborted: its handler blocks a "
                       "worker thread"));
    }
  }
  co_return report;
}

ShutdownReport ActorSystem::BlockingShutdown(Duration deadline) {
  return runtime_.BlockOn(Shutdown(deadline));
}

std::string ShutdownReport::ToString() const {
  if (clean) return "actor system shut down cleanly";
  std::string out = absl::StrCat(stragglers.size(),
                                 " actor(s) did not finish before the "
                                 "shutdown deadline:");
  for (const Straggler& s : stragglers) {
    absl::StrAppend(&out, "\n  ", s.name, " (", s.type, "), ", s.mailbox_depth,
                    " message(s) in its mailbox");
  }
  return out;
}

Task<void> ActorSystem::Watchdog() {
  struct Seen {
    uint64_t sequence;
    Instant since;
    bool reported;
  };
  absl::flat_hash_map<ActorId, Seen> seen;
  // Scans on a fixed grid (an Interval, not a sleep after each scan).
  // A handler first seen at a scan started after the previous scan, so its
  // time is counted from that previous scan: an upper bound, off by less
  // than one period. Every handler that runs longer than the threshold is
  // then reported (the scans it spans, counted from the one before it
  // started, cover at least floor(run / period) periods, and the
  // threshold is a whole number of periods); one up to a period shorter
  // may be reported too. Handlers are not timed one by one: that would
  // read the clock on every message.
  constexpr int kScansPerThreshold = 4;
  Interval every(options_.watchdog_threshold / kScansPerThreshold,
                 MissedTick::kSkip);
  co_await every.Tick();  // the first tick is immediate
  Instant previous_scan = clock().Now();
  while (!stop_watchdog_.IsCancelled()) {
    co_await every.Tick();
    std::vector<CellPtr<CellBase>> cells = LiveCells();
    const Instant now = clock().Now();
    absl::flat_hash_map<ActorId, Seen> next;
    for (auto& c : cells) {
      // The sequence moves when a handler ends. Read around the message:
      // if it moved, the handler now running began after the first read,
      // so after the previous scan, and is new to us.
      const uint64_t before = c->handler_sequence();
      const char* message = c->current_message();
      if (message == nullptr) continue;
      const uint64_t sequence = c->handler_sequence();
      auto it = seen.find(c->id());
      Seen s{sequence, previous_scan, false};
      if (sequence == before && it != seen.end() &&
          it->second.sequence == sequence) {
        s = it->second;
      }
      if (!s.reported && now - s.since >= options_.watchdog_threshold) {
        using std::chrono::duration_cast;
        using std::chrono::milliseconds;
        Log(absl::StrCat(
            "watchdog: actor ", c->name(), " (", c->type(),
            ") has been handling ", message, " for about ",
            duration_cast<milliseconds>(now - s.since).count(),
            " ms, over the ",
            duration_cast<milliseconds>(options_.watchdog_threshold).count(),
            " ms threshold (it blocks its worker, or awaits something "
            "slow)"));
        s.reported = true;
      }
      next[c->id()] = s;
    }
    seen.swap(next);
    previous_scan = now;
  }
}

std::vector<ActorStats> ActorSystem::Stats() const {
  std::vector<CellPtr<CellBase>> cells = LiveCells();
  std::vector<ActorStats> stats;
  stats.reserve(cells.size());
  for (auto& c : cells) stats.push_back(c->Stats());
  return stats;
}

std::string ActorSystem::RenderPrometheus() const {
  std::string out = troupe::RenderPrometheus(runtime_.Metrics());
  const std::vector<ActorStats> stats = Stats();
  absl::StrAppend(&out,
                  "# HELP troupe_actors_alive Actors spawned and not yet "
                  "stopped.\n# TYPE troupe_actors_alive gauge\n"
                  "troupe_actors_alive ",
                  stats.size(), "\n");
  // actor="...",type="..." (escaped), without the braces.
  auto label_pairs = [](const ActorStats& s) {
    return absl::StrCat("actor=\"", EscapeLabelValue(s.name), "\",type=\"",
                        EscapeLabelValue(s.type), "\"");
  };
  auto labels = [&label_pairs](const ActorStats& s) {
    return absl::StrCat("{", label_pairs(s), "}");
  };
  absl::StrAppend(&out,
                  "# HELP troupe_actor_messages_total Messages handled.\n"
                  "# TYPE troupe_actor_messages_total counter\n");
  for (const ActorStats& s : stats) {
    absl::StrAppend(&out, "troupe_actor_messages_total", labels(s), " ",
                    s.messages_handled, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP troupe_actor_mailbox_depth Messages waiting.\n"
                  "# TYPE troupe_actor_mailbox_depth gauge\n");
  for (const ActorStats& s : stats) {
    absl::StrAppend(&out, "troupe_actor_mailbox_depth", labels(s), " ",
                    s.mailbox_depth, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP troupe_actor_mailbox_high_water Deepest mailbox "
                  "seen.\n# TYPE troupe_actor_mailbox_high_water gauge\n");
  for (const ActorStats& s : stats) {
    absl::StrAppend(&out, "troupe_actor_mailbox_high_water", labels(s), " ",
                    s.mailbox_high_water, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP troupe_actor_restarts_total Restarts by the "
                  "supervisor.\n# TYPE troupe_actor_restarts_total counter\n");
  for (const ActorStats& s : stats) {
    absl::StrAppend(&out, "troupe_actor_restarts_total", labels(s), " ",
                    s.restarts, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP troupe_actor_handler_seconds Sampled handler "
                  "times.\n# TYPE troupe_actor_handler_seconds histogram\n");
  for (const ActorStats& s : stats) {
    uint64_t cumulative = 0;
    for (int b = 0; b < ActorStats::kBuckets; ++b) {
      cumulative += s.handler_time_buckets[b];
      const double le = static_cast<double>(uint64_t{1} << b) * 1e-6;
      absl::StrAppend(&out, "troupe_actor_handler_seconds_bucket{",
                      label_pairs(s), ",le=\"",
                      b + 1 == ActorStats::kBuckets ? std::string("+Inf")
                                                    : absl::StrCat(le),
                      "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "troupe_actor_handler_seconds_count", labels(s), " ",
                    cumulative, "\n");
  }
  return out;
}

}  // namespace troupe
