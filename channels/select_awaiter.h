// SelectAwaiter: waits for the first of several branches to complete. The
// engine behind Select (select.h) and behind the single-operation awaiters
// of broadcast and watch (OneAwaiter). Users call Select; this header is
// for channels that want to be selectable.
//
// A branch is one waitable operation, constructed in the awaiter from an
// op (a small copyable description such as OnRecv(rx) returns: the op's
// `Branch` type names the branch). A branch lives in the awaiting
// coroutine frame and is never moved. Its interface:
//
//   using Output = ...;            what the operation yields
//   bool Poll();                   completes the operation now if it can,
//                                  keeping the outcome for Take(); true if
//                                  done. Never waits. Only a completing
//                                  Poll consumes anything.
//   bool Register(TaskHeader* t);  links an intrusive waiter (in the
//                                  branch) that wakes `t` when the branch
//                                  may have become ready. Returns false,
//                                  linking nothing, if it is ready now.
//   bool Notified();               the registered waiter has been woken.
//   void Deregister();             unlinks the waiter (a no-op if not
//                                  linked); afterwards the source no
//                                  longer touches the branch. Idempotent;
//                                  the branch's destructor calls it too.
//   Output Take();                 the outcome, after Poll returned true.
//
// The protocol (one task, one resume point):
//   1. await_ready: poll every branch, in the select's order (see below);
//      the first that completes wins and the rest are not touched.
//   2. await_suspend: register every branch, then suspend. If one says
//      "ready now", deregister all and go back to 1.
//   3. On a wake-up, Ready() runs: if no branch is notified the wake is
//      spurious (a late wake from an earlier wait) and the task stays
//      parked, registrations in place. Otherwise deregister all, then poll
//      as in 1; if nothing completes (the notification was only a hint),
//      go back to 2 without resuming.
//   So at most one branch ever completes, and a losing branch loses
//   nothing: it was never polled after the winner, and its waiter is gone.
//   Destroying the awaiter (its task aborted, a Timeout around it)
//   deregisters every branch.
//
// Order: kRandom starts polling at a random branch (a per-thread
// xorshift generator) and goes round; kBiased always starts at the first.
// With kRandom, branches that are always ready each win 1/N of the time
// in expectation, whatever the call pattern; kBiased is a priority order
// and may starve later branches.
//
// Budget: like every channel operation, a select that completes without
// suspending consumes one unit of the task's cooperative budget
// (executor/coop.h), and yields first once the budget is spent.
//
// Example (a channel's own single-operation awaiter, as broadcast.h does):
//   using RecvAwaiter = OneAwaiter<internal::BroadcastRecvOp<T>>;
//   RecvAwaiter Recv() { return
//   RecvAwaiter(internal::BroadcastRecvOp<T>(*this)); }
#ifndef TROUPE_CHANNELS_SELECT_AWAITER_H_
#define TROUPE_CHANNELS_SELECT_AWAITER_H_

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <variant>

#include "executor/coop.h"
#include "executor/task_header.h"

namespace troupe {

enum class SelectOrder { kRandom, kBiased };

namespace internal {

// A uniformly distributed index in [0, n), from a per-thread xorshift64*
// generator seeded from the thread's address and the clock.
inline std::size_t RandomIndex(std::size_t n) {
  thread_local uint64_t state = 0;
  if (state == 0) {
    state = (reinterpret_cast<uintptr_t>(&state) * 0x9E3779B97F4A7C15ULL) ^
            static_cast<uint64_t>(
                std::chrono::steady_clock::now().time_since_epoch().count()) ^
            1;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return static_cast<std::size_t>(((state * 0x2545F4914F6CDD1DULL) >> 32) % n);
}

}  // namespace internal

template <typename... Ops>
class SelectAwaiter final : public ParkedAwaiter {
  static_assert(sizeof...(Ops) >= 1, "Select needs at least one branch");
  using Branches = std::tuple<typename Ops::Branch...>;
  static constexpr std::size_t kNumBranches = sizeof...(Ops);

 public:
  using Result = std::variant<typename Ops::Branch::Output...>;

  explicit SelectAwaiter(SelectOrder order, const Ops&... ops)
      : branches_(ops...), biased_(order == SelectOrder::kBiased) {}
  SelectAwaiter(const SelectAwaiter&) = delete;
  SelectAwaiter& operator=(const SelectAwaiter&) = delete;
  // The branches deregister in their destructors.
  ~SelectAwaiter() = default;

  bool await_ready() {
    if (!ConsumeBudget()) {
      yield_ = true;  // out of budget: go round the run queue first
      return false;
    }
    return PollAll();
  }
  bool await_suspend(std::coroutine_handle<> handle) {
    TaskHeader* self = CurrentTask();
    assert(self != nullptr && "co_await Select outside a task");
    self->SetResumePoint(handle, this);
    if (yield_) {
      self->WakeByRef();
      return true;
    }
    return Park(self);
  }
  bool Ready() override {
    if (yield_) {
      yield_ = false;
      return PollAll() || !Park(CurrentTask());
    }
    if (!AnyNotified()) return false;  // spurious: stay parked
    DeregisterAll();
    return PollAll() || !Park(CurrentTask());
  }
  Result await_resume() {
    return TakeWinner(std::index_sequence_for<Ops...>{});
  }

  // Which branch won (after the await completed).
  std::size_t winner() const { return winner_; }
  // Branch I, for single-branch awaiters that want its Output directly.
  template <std::size_t I>
  auto& branch() {
    return std::get<I>(branches_);
  }

 private:
  // Polls in the select's order; records the first branch that completes.
  bool PollAll() {
    std::size_t i = 0;
    if constexpr (kNumBranches > 1) {
      if (!biased_) i = internal::RandomIndex(kNumBranches);
    }
    for (std::size_t k = 0; k < kNumBranches; ++k) {
      if (PollAt(i, std::index_sequence_for<Ops...>{})) {
        winner_ = i;
        return true;
      }
      if (++i == kNumBranches) i = 0;
    }
    return false;
  }

  // Registers every branch; true if all are registered (suspend). If a
  // branch turns out ready, the others are withdrawn and the branches
  // polled again; false once one completed.
  bool Park(TaskHeader* self) {
    for (;;) {
      const bool all = std::apply(
          [self](auto&... b) { return (b.Register(self) && ...); }, branches_);
      if (all) return true;
      DeregisterAll();
      if (PollAll()) return false;
    }
  }

  bool AnyNotified() {
    return std::apply([](auto&... b) { return (b.Notified() || ...); },
                      branches_);
  }
  void DeregisterAll() {
    std::apply([](auto&... b) { (b.Deregister(), ...); }, branches_);
  }

  template <std::size_t I>
  static bool PollOne(Branches& b) {
    return std::get<I>(b).Poll();
  }
  template <std::size_t... I>
  bool PollAt(std::size_t i, std::index_sequence<I...> /*unused*/) {
    static constexpr bool (*kPoll[])(Branches&) = {&PollOne<I>...};
    return kPoll[i](branches_);
  }
  template <std::size_t I>
  static Result TakeOne(Branches& b) {
    return Result(std::in_place_index<I>, std::get<I>(b).Take());
  }
  template <std::size_t... I>
  Result TakeWinner(std::index_sequence<I...> /*unused*/) {
    assert(winner_ < kNumBranches && "await_resume before a branch won");
    static constexpr Result (*kTake[])(Branches&) = {&TakeOne<I>...};
    return kTake[winner_](branches_);
  }

  Branches branches_;
  std::size_t winner_ = kNumBranches;
  const bool biased_;
  bool yield_ = false;
};

// co_await on one operation: a one-branch select that yields the branch's
// Output itself (how broadcast's Recv and watch's Changed are awaited).
template <typename Op>
class OneAwaiter {
 public:
  explicit OneAwaiter(const Op& op) : select_(SelectOrder::kBiased, op) {}
  bool await_ready() { return select_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> handle) {
    return select_.await_suspend(handle);
  }
  typename Op::Branch::Output await_resume() {
    return select_.template branch<0>().Take();
  }

 private:
  SelectAwaiter<Op> select_;
};

// For plain threads: waits for one operation by blocking the thread. The
// branch must wake a waiter registered without a task through its
// WaitTarget's futex word (target()), as the WaiterList-based ones do.
template <typename Op>
typename Op::Branch::Output BlockOnOne(const Op& op) {
  typename Op::Branch branch(op);
  while (!branch.Poll()) {
    if (branch.Register(nullptr)) {
      // The word is the waker's last touch (waker.h): after it, the
      // branch's Deregister finds the waiter notified and does nothing.
      branch.target().BlockThread();
      branch.Deregister();
    }
  }
  return branch.Take();
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_SELECT_AWAITER_H_
