#include "actors/actor_system.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "executor/metrics.h"

namespace troupe {

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
class ActorSystem::Root final : public CellBase {
 public:
  explicit Root(ActorSystem* system)
      : CellBase(system, "system", "system", nullptr) {}
  uint64_t MailboxDepth() const override { return 0; }
  void CloseMailbox() override {}
  void AbortRunner() override {}
  Task<void> DeliverTerminated(ActorId, std::string, absl::Status,
                               bool) override {
    co_return;
  }
  Task<void> HandleStop(absl::Status) override { co_return; }
  Task<void> HandleRestart(absl::Status, Duration) override { co_return; }
  void HandleResume() override {}
  void ChildFailed(std::shared_ptr<CellBase> child, absl::Status why) override {
    system().Log(absl::StrCat("actor ", child->name(), " (", child->type(),
                              ") failed: ", why.ToString()));
    std::lock_guard<std::mutex> guard(supervise_mu_);
    SuperviseChildNow(child, why);
  }
  bool IsRoot() const override { return true; }

 protected:
  void WakeRunner() override {}
  const SupervisorStrategy& child_strategy() const override {
    return system().options().top_level_supervision;
  }

 private:
  std::mutex supervise_mu_;
};

ActorSystem::ActorSystem(Runtime& runtime, ActorSystemOptions options)
    : runtime_(runtime),
      options_(std::move(options)),
      root_(std::make_shared<Root>(this)) {
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
  if (!done) {
    if (Scheduler::Current() == nullptr) {
      ShutdownReport report = BlockingShutdown(std::chrono::seconds(5));
      if (!report.clean) Log(report.ToString());
    } else {
      // Inside the runtime we cannot wait: stop what we can and abort the
      // rest. Prefer co_await system.Shutdown(...) before destruction.
      stop_watchdog_.Cancel();
      watchdog_.Abort();
      for (auto& child : root_->Children()) child->AbortRunner();
    }
  }
}

void ActorSystem::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "troupe: %s\n", line.c_str());
  }
}

void ActorSystem::Track(const std::shared_ptr<CellBase>& cell) {
  std::lock_guard<std::mutex> guard(mu_);
  all_[cell->id()] = cell;
}

void ActorSystem::Unregister(CellBase* cell) {
  std::lock_guard<std::mutex> guard(mu_);
  all_.erase(cell->id());
  // Only the names this actor registered: termination stays O(1) however
  // many named actors there are.
  auto names = names_of_.find(cell->id());
  if (names == names_of_.end()) return;
  for (const std::string& name : names->second) {
    auto it = registry_.find(name);
    if (it == registry_.end()) continue;
    auto locked = it->second.cell.lock();
    if (locked == nullptr || locked.get() == cell) registry_.erase(it);
  }
  names_of_.erase(names);
}

std::size_t ActorSystem::NumActors() const {
  std::lock_guard<std::mutex> guard(mu_);
  return all_.size();
}

absl::Status ActorSystem::RegisterCell(const std::string& name,
                                       const std::shared_ptr<CellBase>& cell,
                                       std::type_index type) {
  if (name.empty()) return absl::InvalidArgumentError("empty actor name");
  std::lock_guard<std::mutex> guard(mu_);
  auto it = registry_.find(name);
  if (it != registry_.end()) {
    auto existing = it->second.cell.lock();
    if (existing != nullptr && !existing->IsTerminated()) {
      return absl::AlreadyExistsError(
          absl::StrCat("the name '", name, "' is taken by ", existing->name()));
    }
    registry_.erase(it);
  }
  registry_.emplace(name, Named{cell, type});
  names_of_[cell->id()].push_back(name);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<CellBase>> ActorSystem::LookupCell(
    const std::string& name, std::type_index type, const char* type_name) {
  std::lock_guard<std::mutex> guard(mu_);
  auto it = registry_.find(name);
  if (it == registry_.end()) {
    return absl::NotFoundError(absl::StrCat("no actor named '", name, "'"));
  }
  auto cell = it->second.cell.lock();
  if (cell == nullptr || cell->IsTerminated()) {
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
  std::vector<std::shared_ptr<CellBase>> cells;
  {
    std::lock_guard<std::mutex> guard(mu_);
    for (auto& [id, weak] : all_) {
      if (auto c = weak.lock()) cells.push_back(std::move(c));
    }
  }
  // 1. Stop intake.
  for (auto& c : cells) c->CloseMailbox();
  // 2. Stop the top level; each stops its children first, then drains.
  std::vector<std::shared_ptr<CellBase>> top = root_->Children();
  for (auto& c : top) c->RequestStop(absl::OkStatus());
  const Instant until = clock().Now() + deadline;
  for (auto& c : top) {
    Task<void> wait = [](std::shared_ptr<CellBase> cell) -> Task<void> {
      co_await cell->Terminated();
    }(c);
    (void)co_await TimeoutAt(until, std::move(wait));
  }
  // 3. Report and abort whatever is left.
  ShutdownReport report;
  for (auto& c : cells) {
    if (c->IsTerminated()) continue;
    report.clean = false;
    report.stragglers.push_back({c->name(), c->type(), c->MailboxDepth()});
    c->AbortRunner();
  }
  if (!report.clean) Log(report.ToString());
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
  const Duration period = options_.watchdog_threshold / 2;
  while (!stop_watchdog_.IsCancelled()) {
    co_await SleepFor(period);
    std::vector<std::shared_ptr<CellBase>> cells;
    {
      std::lock_guard<std::mutex> guard(mu_);
      for (auto& [id, weak] : all_) {
        if (auto c = weak.lock()) cells.push_back(std::move(c));
      }
    }
    const Instant now = clock().Now();
    absl::flat_hash_map<ActorId, Seen> next;
    for (auto& c : cells) {
      const char* message = c->current_message();
      if (message == nullptr) continue;
      const uint64_t sequence = c->handler_sequence();
      auto it = seen.find(c->id());
      Seen s{sequence, now, false};
      if (it != seen.end() && it->second.sequence == sequence) s = it->second;
      if (!s.reported && now - s.since >= options_.watchdog_threshold) {
        Log(absl::StrCat(
            "watchdog: actor ", c->name(), " (", c->type(),
            ") has been handling ", message, " for more than ",
            std::chrono::duration_cast<std::chrono::milliseconds>(
                options_.watchdog_threshold)
                .count(),
            " ms (it blocks its worker, or awaits something slow)"));
        s.reported = true;
      }
      next[c->id()] = s;
    }
    seen.swap(next);
  }
}

std::vector<ActorStats> ActorSystem::Stats() const {
  std::vector<std::shared_ptr<CellBase>> cells;
  {
    std::lock_guard<std::mutex> guard(mu_);
    for (auto& [id, weak] : all_) {
      if (auto c = weak.lock()) cells.push_back(std::move(c));
    }
  }
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
  auto labels = [](const ActorStats& s) {
    return absl::StrCat("{actor=\"", s.name, "\",type=\"", s.type, "\"}");
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
      absl::StrAppend(&out, "troupe_actor_handler_seconds_bucket{actor=\"",
                      s.name, "\",type=\"", s.type, "\",le=\"",
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
