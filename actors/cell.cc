#include "actors/cell.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actors/actor_system.h"

namespace troupe {
namespace {

std::atomic<ActorId> g_next_id{1};

// A copy of `s` with a message of its own. Copies of an absl::Status share
// one message through a reference count kept inside Debian's Abseil,
// which ThreadSanitizer does not see: two actors' threads dropping their
// copies of one reason (the siblings of an all-for-one restart, say) look
// to it like a free racing a read. A reason that crosses to another actor
// is copied deeply instead - control messages are rare, so the copy is
// cheap in total. (troupe attaches no payloads to statuses.)
absl::Status Unshared(const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), std::string(s.message()));
}

class StopRequest final : public ControlMessage {
 public:
  explicit StopRequest(const absl::Status& reason)
      : reason_(Unshared(reason)) {}
  Task<void> Apply(CellBase& cell) override {
    return cell.HandleStop(std::move(reason_));
  }

 private:
  absl::Status reason_;
};

class RestartRequest final : public ControlMessage {
 public:
  RestartRequest(const absl::Status& reason, Duration backoff)
      : reason_(Unshared(reason)), backoff_(backoff) {}
  Task<void> Apply(CellBase& cell) override {
    return cell.HandleRestart(std::move(reason_), backoff_);
  }

 private:
  absl::Status reason_;
  Duration backoff_;
};

class ResumeRequest final : public ControlMessage {
 public:
  Task<void> Apply(CellBase& cell) override {
    cell.HandleResume();
    co_return;
  }
};

class ChildFailedNotice final : public ControlMessage {
 public:
  ChildFailedNotice(CellPtr<CellBase> child, const absl::Status& why)
      : child_(std::move(child)), why_(Unshared(why)) {}
  Task<void> Apply(CellBase& cell) override {
    return cell.SuperviseChild(std::move(child_), std::move(why_));
  }

 private:
  CellPtr<CellBase> child_;
  absl::Status why_;
};

class TerminatedNotice final : public ControlMessage {
 public:
  TerminatedNotice(ActorId who, std::string name, const absl::Status& reason,
                   bool link)
      : who_(who),
        name_(std::move(name)),
        reason_(Unshared(reason)),
        link_(link) {}
  Task<void> Apply(CellBase& cell) override {
    return cell.DeliverTerminated(who_, std::move(name_), std::move(reason_),
                                  link_);
  }

 private:
  ActorId who_;
  std::string name_;
  absl::Status reason_;
  bool link_;
};

}  // namespace

CellBase::CellBase(ActorSystem* system, std::string name,
                   const CellPtr<CellBase>& parent)
    : system_(system),
      id_(g_next_id.fetch_add(1, std::memory_order_relaxed)),
      parent_(parent != nullptr && !parent->IsRoot() ? parent
                                                     : CellPtr<CellBase>()),
      top_level_(parent != nullptr && parent->IsRoot()) {
  if (!name.empty()) {
    name_.store(new std::string(std::move(name)), std::memory_order_relaxed);
  }
}

const std::string& CellBase::DefaultName() const {
  auto* made = new std::string(absl::StrCat(type(), "-", id_));
  const std::string* expected = nullptr;
  // acq_rel: publishes ours, or (acquire) reads the one another thread
  // made first.
  if (name_.compare_exchange_strong(expected, made,
                                    std::memory_order_acq_rel)) {
    return *made;
  }
  delete made;
  return *expected;
}

CellBase::Relations& CellBase::RelationsLocked() const {
  Relations* r = relations_.load(std::memory_order_relaxed);
  if (r == nullptr) {
    r = new Relations;
    // Release: a lock-free reader (Stats, MakeRareStats) sees it made.
    relations_.store(r, std::memory_order_release);
  }
  return *r;
}

CellPtr<CellBase> CellBase::parent() const {
  if (!top_level_) {
    // A parent that has terminated decides nothing any more (an aborted
    // parent asks its children to stop without waiting for them).
    if (parent_ == nullptr || parent_->IsTerminated()) return nullptr;
    return parent_;
  }
  std::lock_guard<internal::FutexMutex> guard(mu_);
  if (detached_) return nullptr;
  return system_->root();
}

CellBase::~CellBase() {
  while (std::unique_ptr<ControlMessage> m = PopControl()) {
  }
  delete relations_.load(std::memory_order_relaxed);
  delete name_.load(std::memory_order_relaxed);
  // Only a cell that never started can still be in the table here (a
  // started one is forgotten when it terminates or is detached), and its
  // system is still there: the spawn that made it has not returned. While
  // this waits for the shard's lock, snapshots skip the cell (its last
  // reference is gone, so TryShare fails while the count stays zero).
  if (in_table_) system_->ForgetCell(this);
}

CancellationToken::Awaiter CellBase::Terminated() const {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  std::unique_ptr<CancellationToken>& token =
      RelationsLocked().terminated_token;
  if (token == nullptr) {
    token = std::make_unique<CancellationToken>();
    // Too late to be cancelled by FinishTermination (which sets the flag
    // under mu_ before it looks for a token): cancelled here.
    if (terminated_.load(std::memory_order_relaxed)) token->Cancel();
  }
  return token->Cancelled();
}

absl::Status CellBase::termination_reason() const {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  return ReasonLocked();
}

absl::Status CellBase::ReasonLocked() const {
  const Relations* r = relations_.load(std::memory_order_relaxed);
  return r != nullptr ? r->reason : absl::OkStatus();
}

void CellBase::SetReasonLocked(absl::Status reason) {
  // OK is what a cell without relations reports: no block made for it.
  if (reason.ok() && relations_.load(std::memory_order_relaxed) == nullptr) {
    return;
  }
  RelationsLocked().reason = std::move(reason);
}

absl::Status CellBase::stop_reason() const {
  // Acquire: the relations may have been made by another thread (under
  // mu_, for a watcher); the reason in them only this runner writes.
  const Relations* r = relations_.load(std::memory_order_acquire);
  return r != nullptr ? r->reason : absl::OkStatus();
}

void CellBase::PushControl(std::unique_ptr<ControlMessage> message) {
  {
    std::lock_guard<internal::SpinLock> guard(control_lock_);
    // Terminated: nobody will apply it. It is dropped on return, after
    // the unlock (its destructor may drop the last reference to a cell).
    if (control_closed_) return;
    ControlMessage* m = message.release();
    if (control_tail_ == nullptr) {
      m->next_ = m;
    } else {
      m->next_ = control_tail_->next_;  // the oldest
      control_tail_->next_ = m;
    }
    control_tail_ = m;
    // Published before waking the runner: its park check (under the
    // mailbox lock) sees this flag or our wake-up finds it parked.
    control_pending_.store(true, std::memory_order_release);
  }
  WakeRunner();
}

std::unique_ptr<ControlMessage> CellBase::PopControl() {
  std::lock_guard<internal::SpinLock> guard(control_lock_);
  if (control_tail_ == nullptr) return nullptr;
  ControlMessage* m = control_tail_->next_;  // the oldest
  if (m == control_tail_) {
    control_tail_ = nullptr;
    control_pending_.store(false, std::memory_order_release);
  } else {
    control_tail_->next_ = m->next_;
  }
  m->next_ = nullptr;
  return std::unique_ptr<ControlMessage>(m);
}

void CellBase::SetStopReason(absl::Status reason) {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  SetReasonLocked(std::move(reason));
}

void CellBase::CloseControl() {
  ControlMessage* pending;
  {
    std::lock_guard<internal::SpinLock> guard(control_lock_);
    control_closed_ = true;
    ControlMessage* tail = std::exchange(control_tail_, nullptr);
    pending = tail == nullptr ? nullptr : std::exchange(tail->next_, nullptr);
    control_pending_.store(false, std::memory_order_release);
  }
  while (pending != nullptr) {
    std::unique_ptr<ControlMessage> m(pending);
    pending = std::exchange(m->next_, nullptr);
  }
}

void CellBase::RequestStop(const absl::Status& reason) {
  PushControl(std::make_unique<StopRequest>(reason));
}
void CellBase::RequestRestart(const absl::Status& reason, Duration backoff) {
  PushControl(std::make_unique<RestartRequest>(reason, backoff));
}
void CellBase::RequestResume() {
  PushControl(std::make_unique<ResumeRequest>());
}

void CellBase::ChildFailed(CellPtr<CellBase> child, const absl::Status& why) {
  PushControl(std::make_unique<ChildFailedNotice>(std::move(child), why));
}

void CellBase::AddWatcher(const CellPtr<CellBase>& watcher, bool link) {
  absl::Status already;
  {
    std::lock_guard<internal::FutexMutex> guard(mu_);
    // watchers_closed_, not IsTerminated(): the list is closed (under this
    // lock) in the same step that hands it to FinishTermination, so a
    // watcher lands either in the list it notifies or here - never in a
    // list nobody reads again.
    if (!watchers_closed_) {
      std::vector<Watcher>& watchers = RelationsLocked().watchers;
      // Watchers that stopped without Unwatch are dropped whenever the
      // list would grow (amortised O(1)): the list of a long-lived actor
      // does not keep every retired watcher's cell.
      if (watchers.size() == watchers.capacity()) PruneWatchersLocked();
      watchers.push_back(Watcher{watcher, link});
      return;
    }
    already = ReasonLocked();
  }
  // Already gone: the notice is due at once.
  watcher->PushControl(
      std::make_unique<TerminatedNotice>(id_, name(), already, link));
}

void CellBase::RemoveWatcher(CellBase* watcher) {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  // Relaxed: the block is made under mu_, which we hold.
  Relations* r = relations_.load(std::memory_order_relaxed);
  if (r == nullptr) return;
  std::erase_if(r->watchers, [watcher](const Watcher& w) {
    return w.cell.get() == watcher || w.cell->IsTerminated();
  });
}

void CellBase::PruneWatchersLocked() {
  std::erase_if(RelationsLocked().watchers,
                [](const Watcher& w) { return w.cell->IsTerminated(); });
}

void CellBase::AddChild(CellPtr<CellBase> child) {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  std::vector<CellPtr<CellBase>>& children = RelationsLocked().children;
  child->index_in_parent_ = static_cast<uint32_t>(children.size());
  children.push_back(std::move(child));
}

void CellBase::RemoveChild(CellBase* child) {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  // O(1): swap with the last child (sibling order does not matter), so a
  // system with a million actors shuts down in linear time.
  Relations* r = relations_.load(std::memory_order_relaxed);
  if (r == nullptr) return;
  std::vector<CellPtr<CellBase>>& children = r->children;
  const std::size_t i = child->index_in_parent_;
  if (i >= children.size() || children[i].get() != child) return;
  if (i + 1 != children.size()) {
    children[i] = std::move(children.back());
    children[i]->index_in_parent_ = static_cast<uint32_t>(i);
  }
  children.pop_back();
}

std::vector<CellPtr<CellBase>> CellBase::Children() const {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  const Relations* r = relations_.load(std::memory_order_relaxed);
  if (r == nullptr) return {};
  return r->children;
}

Task<void> CellBase::StopChildren(const absl::Status& reason) {
  std::vector<CellPtr<CellBase>> children = Children();
  for (auto& child : children) child->RequestStop(reason);
  for (auto& child : children) co_await child->Terminated();
}

void CellBase::FinishTermination(const absl::Status& reason) {
  std::vector<Watcher> watchers;
  CancellationToken* token = nullptr;
  {
    std::lock_guard<internal::FutexMutex> guard(mu_);
    SetReasonLocked(reason);
    watchers_closed_ = true;
    if (Relations* r = relations_.load(std::memory_order_relaxed)) {
      watchers.swap(r->watchers);
    }
  }
  set_state(ActorState::kStopped);
  for (Watcher& w : watchers) {
    w.cell->PushControl(
        std::make_unique<TerminatedNotice>(id_, name(), reason, w.link));
  }
  {
    // Under mu_ so that DetachFromSystem either waits for this to finish or
    // makes it skip the system (lock order: a cell's mu_, then the
    // system's).
    std::lock_guard<internal::FutexMutex> guard(mu_);
    if (!detached_) system_->Unregister(this);
    // Release: pairs with the acquire in IsTerminated().
    terminated_.store(true, std::memory_order_release);
    // Lives as long as this cell (so do the relations, once made).
    if (Relations* r = relations_.load(std::memory_order_relaxed)) {
      token = r->terminated_token.get();
    }
  }
  if (token != nullptr) token->Cancel();
  CloseControl();
  // The top level is not in the root's list (the system's table, which
  // Unregister updated, holds it).
  if (top_level_) return;
  if (CellPtr<CellBase> parent = std::move(parent_)) parent->RemoveChild(this);
}

void CellBase::DetachFromSystem() {
  std::lock_guard<internal::FutexMutex> guard(mu_);
  if (detached_) return;
  detached_ = true;
  // Out of the table now, as the table goes with the system: this cell
  // will not forget itself when it terminates (FinishTermination).
  system_->ForgetCell(this);
}

void CellBase::Fail(const absl::Status& why) {
  if (state() == ActorState::kStopping) {
    // Already stopping (a handler failed while the mailbox drained): the
    // stop goes on - waiting for a parent's decision here could wait for
    // a parent that is itself waiting for this actor to stop. The first
    // failure becomes the stop's reason.
    if (stop_reason().ok()) SetStopReason(why);
    return;
  }
  set_state(ActorState::kFailed);
  if (auto parent = this->parent()) {
    parent->ChildFailed(Share(), why);
  } else {
    RequestStop(why);  // the parent is gone: nobody to decide
  }
}

Task<void> CellBase::SuperviseChild(CellPtr<CellBase> child, absl::Status why) {
  SuperviseChildNow(child, why);
  co_return;
}

void CellBase::SuperviseChildNow(const CellPtr<CellBase>& child,
                                 const absl::Status& why) {
  const SupervisorStrategy& strategy = child_strategy();
  Directive directive = strategy.Decide(why);
  Duration backoff = Duration::zero();
  if (directive == Directive::kRestart) {
    // Under mu_: the history shares the relations block (it is only ever
    // touched here, by this actor's runner or the root's lock holder).
    std::lock_guard<internal::FutexMutex> guard(mu_);
    std::vector<RestartHistory>& history = RelationsLocked().restart_history;
    auto it = std::find_if(
        history.begin(), history.end(),
        [&](const RestartHistory& h) { return h.child == child->id(); });
    if (it == history.end()) {
      history.push_back(RestartHistory{child->id(), {}, 0});
      it = history.end() - 1;
    }
    const Instant now = system_->clock().Now();
    while (!it->times.empty() && now - it->times.front() > strategy.within) {
      it->times.pop_front();
    }
    if (static_cast<int>(it->times.size()) >= strategy.max_restarts) {
      // Too many restarts: escalate (the system root stops the child).
      directive = IsRoot() ? Directive::kStop : Directive::kEscalate;
    } else {
      it->times.push_back(now);
      backoff = strategy.BackoffFor(static_cast<int>(it->times.size()));
    }
  }
  std::vector<CellPtr<CellBase>> targets;
  if (strategy.scope == SupervisionScope::kAllForOne &&
      directive != Directive::kEscalate && directive != Directive::kResume) {
    targets = Children();
  } else {
    targets.push_back(child);
  }
  // All-for-one: the siblings' requests are queued before the failed
  // child's. The failed child acts only on its own request, so anything it
  // does afterwards - answering an ask, say - happens after every sibling
  // has the request on its control lane, which its runner serves before
  // the next mailbox message (see ActorCell::NextMail). A message
  // sent to a sibling after the failed child answered therefore reaches
  // the sibling's new instance.
  std::stable_partition(
      targets.begin(), targets.end(),
      [&child](const CellPtr<CellBase>& t) { return t != child; });
  switch (directive) {
    case Directive::kRestart:
      for (auto& t : targets) t->RequestRestart(why, backoff);
      break;
    case Directive::kResume:
      child->RequestResume();
      break;
    case Directive::kStop:
      for (auto& t : targets) t->RequestStop(why);
      break;
    case Directive::kEscalate:
      if (IsRoot()) {
        child->RequestStop(why);
      } else {
        Fail(absl::Status(
            why.code(),
            absl::StrCat("child ", child->name(), " failed: ", why.message())));
      }
      break;
  }
}

CellBase::RareStats& CellBase::MakeRareStats() {
  // Acquire: pairs with RelationsLocked's release (made by another
  // thread, under mu_, for a watcher or a child).
  if (Relations* r = relations_.load(std::memory_order_acquire)) {
    return r->rare;
  }
  std::lock_guard<internal::FutexMutex> guard(mu_);
  return RelationsLocked().rare;
}

void CellBase::RecordHandlerTime(Instant now) {
  RareStats& h = MakeRareStats();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      now - h.sample_start);
  const uint64_t v = us.count() < 0 ? 0 : static_cast<uint64_t>(us.count());
  int bucket = v == 0 ? 0 : static_cast<int>(std::bit_width(v));
  if (bucket >= ActorStats::kBuckets) bucket = ActorStats::kBuckets - 1;
  // Relaxed: a statistic; only the runner writes it.
  h.buckets[bucket].store(h.buckets[bucket].load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
}

ActorStats CellBase::Stats() const {
  ActorStats s;
  s.id = id_;
  s.name = name();
  s.type = type();
  s.state = state();
  // The sequence moves once per handled message.
  s.messages_handled = handler_seq_.load(std::memory_order_relaxed);
  s.mailbox_depth = MailboxDepth();
  // The channel notes the depth each time the runner takes a batch; the
  // present depth covers what has piled up since (behind a long handler).
  s.mailbox_high_water = std::max(MailboxHighWater(), s.mailbox_depth);
  // Acquire: pairs with RelationsLocked's release (zeroed counters).
  if (const Relations* r = relations_.load(std::memory_order_acquire)) {
    s.restarts = r->rare.restarts.load(std::memory_order_relaxed);
    for (int i = 0; i < ActorStats::kBuckets; ++i) {
      s.handler_time_buckets[i] =
          r->rare.buckets[i].load(std::memory_order_relaxed);
    }
  }
  return s;
}

}  // namespace troupe
