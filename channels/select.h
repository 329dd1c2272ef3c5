// Select: wait for whichever of several operations completes first - an
// actor waiting on its mailbox, a timer and a cancellation token at once.
//
// Contract:
//   - co_await Select(op0, op1, ...) -> std::variant<Output0, Output1, ...>:
//     exactly one operation completes; result.index() says which, and
//     std::get<I>(result) is its outcome. The operations:
//       OnRecv(mpsc Receiver<T>&)          -> std::optional<T> (empty: closed
//                                             and drained), as Recv()
//       OnSend(Sender<T>&, std::optional<T>& value)
//                                          -> SendError: kNone (sent, value
//                                             emptied) or kClosed (value kept)
//       OnRecv(OneshotReceiver<T>&)        -> absl::StatusOr<T>, as co_await
//       OnRecv(BroadcastReceiver<T>&)      -> BroadcastResult<T>, as Recv()
//       OnChanged(WatchReceiver<T>&)       -> absl::Status, as Changed()
//       OnSleep(duration) / OnDeadline(t)  -> Elapsed
//       OnCancelled(token)                 -> TokenCancelled
//   - Fairness: Select polls the operations starting from a random one and
//     going round (a per-thread generator), so when several are ready each
//     is equally likely to win, whatever the calling pattern: no ready
//     operation starves. SelectBiased(...) polls in the order written, a
//     priority (the first ready one always wins; later ones may starve).
//   - Cancellation safety: a losing operation consumes nothing. A value
//     that arrives on a losing receive stays in its channel for the next
//     receive; a losing send keeps its value in the caller's optional (it
//     waited for a free slot, never with the value, and gives back a slot
//     it was granted); a losing Changed() marks nothing seen. Abandoning
//     the select itself (its task aborted, a Timeout around it) leaves no
//     waiter registered anywhere.
//   - Cost: every operation's waiter is intrusive, in the awaiting frame,
//     so selecting allocates nothing. A select that finds a ready operation
//     does not suspend; otherwise it registers on all, suspends once, and
//     on wake-up withdraws from all before it polls again.
//   - Each receiver may be in one pending Recv or select at a time (mpsc and
//     broadcast receivers are single-consumer), and the handles passed in
//     must outlive the co_await. Select must be awaited in a task.
//
// How it works: every operation is a "branch" with a non-consuming
// register / notified / deregister interface and a consuming poll; the
// protocol and the branch interface are in select_awaiter.h, so a new
// channel becomes selectable by providing one branch class.
//
// Example - an actor loop:
//   for (;;) {
//     auto r = co_await Select(OnRecv(mailbox), OnSleep(1s),
//                              OnCancelled(stop));
//     switch (r.index()) {
//       case 0:
//         if (std::optional<Msg>& m = std::get<0>(r)) Handle(*m);
//         else co_return;                     // mailbox closed and drained
//         break;
//       case 1: Tick(); break;                // a second without messages
//       case 2: co_return;                    // asked to stop
//     }
//   }
#ifndef TROUPE_CHANNELS_SELECT_H_
#define TROUPE_CHANNELS_SELECT_H_

#include <optional>
#include <utility>

#include "channels/broadcast.h"
#include "channels/mpsc.h"
#include "channels/oneshot.h"
#include "channels/select_awaiter.h"
#include "channels/select_branches.h"
#include "channels/watch.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/sleep.h"

namespace troupe {

// Waits for the first of `ops` to complete, polling from a random start.
template <typename... Ops>
SelectAwaiter<Ops...> Select(const Ops&... ops) {
  return SelectAwaiter<Ops...>(SelectOrder::kRandom, ops...);
}

// Waits for the first of `ops` to complete; when several are ready, the
// first written wins.
template <typename... Ops>
SelectAwaiter<Ops...> SelectBiased(const Ops&... ops) {
  return SelectAwaiter<Ops...>(SelectOrder::kBiased, ops...);
}

template <typename T>
internal::MpscRecvOp<T> OnRecv(Receiver<T>& rx) {
  return internal::MpscRecvOp<T>(rx);
}
template <typename T>
internal::OneshotRecvOp<T> OnRecv(OneshotReceiver<T>& rx) {
  return internal::OneshotRecvOp<T>(rx);
}
template <typename T>
internal::BroadcastRecvOp<T> OnRecv(BroadcastReceiver<T>& rx) {
  return internal::BroadcastRecvOp<T>(rx);
}
// `value` must hold a value; it is moved out only if the send wins.
template <typename T>
internal::MpscSendOp<T> OnSend(const Sender<T>& tx, std::optional<T>& value) {
  return internal::MpscSendOp<T>(tx, value);
}
template <typename T>
internal::WatchChangedOp<T> OnChanged(WatchReceiver<T>& rx) {
  return internal::WatchChangedOp<T>(rx);
}
inline internal::TimerOp OnDeadline(Instant deadline) {
  return internal::TimerOp(deadline);
}
inline internal::TimerOp OnSleep(Duration duration) {
  return internal::TimerOp(CurrentClock().Now() + duration,
                           /*fresh=*/duration > Duration::zero());
}
inline internal::CancelledOp OnCancelled(const CancellationToken& token) {
  return internal::CancelledOp(token);
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_SELECT_H_
