// SendStage: one sender thread's batch of values for one actor mailbox,
// kept while the sending task runs and published with one lock hold.
//
// Why: when senders on several cores push into one mailbox, every push
// moves the mailbox's lock, its tail block and the slot written from
// one core's cache to the other's (fan-in of 100 actors into one on two
// workers ran at a third of its one-worker speed). So a task run that
// pushes to one mailbox a second time in a row (or whose push found the
// lock taken) reserves room for up to kStageBatch more values in the same
// hold - as permits: they count against the capacity at once - writes
// its next values for that mailbox into this thread-local chain without
// the lock, and publishes them when the reservation runs out or the
// task's run ends (a poll-end hook, executor/poll_end.h) - before the
// task can move to another worker, so a sender's values stay in order.
// A sender admitted from the wait queue may be granted such room too
// (MpscChannel::GrantLocked): its stage takes it over when it resumes.
//
// Contract: owned by the channel code (MpscChannel's staged push); one
// per value type per thread; open for at most one channel at a time and
// only within one task run. While open it holds a sender of the channel
// (so the receiver cannot see the end of the stream) and a pin on the
// channel's owner (so it cannot be freed), and counts in the channel's
// stages_open_: a closed channel still takes the values and its receiver
// waits for them before it finishes. Values it holds are published
// before any other push of this thread to the same channel (the channel
// checks at every push), so a task's tell, ask and permit to one actor
// keep their order.
//
// Example (inside MpscChannel; illustrative):
//   SendStage<T>& s = SendStage<T>::Current();
//   if (s.channel == this && s.permits > 0) { s.chain.PushWith(...); ... }
#ifndef TROUPE_CHANNELS_SEND_STAGE_H_
#define TROUPE_CHANNELS_SEND_STAGE_H_

#include <cstdint>

#include "channels/block_chain.h"
#include "executor/poll_end.h"

namespace troupe::internal {

// Keeps a channel's owner alive while a stage holds values for it.
struct StagePin {
  void* object = nullptr;
  void (*pin)(void*) = nullptr;
  void (*unpin)(void*) = nullptr;
};

template <typename T>
struct SendStage : PollEndHook {
  static SendStage& Current() {
    static thread_local SendStage stage;
    return stage;
  }

  void* channel = nullptr;  // the channel it is open for; null when closed
  StagePin pin;
  uint32_t permits = 0;  // reserved room not yet used
  uint32_t staged = 0;   // values in `chain`
  // Whether `run` is in this run's poll-end list (it stays there, as a
  // no-op, if the stage closes early).
  bool deferred = false;
  // This thread's last push outside the stage: a second push to the same
  // channel in the same task run opens the stage.
  const void* last_channel = nullptr;
  uint64_t last_poll = 0;
  BlockChain<T> chain;
  BlockPool<T> pool;
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_SEND_STAGE_H_
