// The writer task of a WebSocketConnection (websocket_core.h): each round
// takes what is queued (behind what a direct write left over, see
// websocket_write_side.h) into a WriteBatch and writes it with one vectored
// write. A round that would carry a single message first yields once, so
// that under load rounds fill up (fewer syscalls per message) while an
// idle connection pays one requeue.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "executor/yield.h"
#include "net/websocket_core.h"
#include "net/websocket_write_batch.h"
#include "net/websocket_write_side.h"

namespace troupe::net::internal {

Task<void> RunWebSocketWriter(std::shared_ptr<WebSocketCore> core,
                              Receiver<WebSocketOutgoing> outgoing,
                              EndOfTask end_of_task) {
  // The first local: its work comes after the other locals' (EndOfTask).
  const EndOfTask at_exit = std::move(end_of_task);
  WriteBatch batch(*core);
  for (;;) {
    // A posted Pong or Close whose wake-up found the queue full is taken
    // now, without waiting for a message (see WebSocketCore's
    // control_posted()).
    const bool control_round = core->control_posted();
    std::optional<WebSocketOutgoing> item;
    if (!control_round) {
      item = co_await outgoing.Recv();
      if (item.has_value() && item->kind == WebSocketOutgoing::Kind::kMessage &&
          outgoing.Len() == 0) {
        // A lone message: one turn at the back of the run queue first.
        // Under load the senders (a hub room's fan-out, the next publish)
        // queue more meanwhile, and the round writes them all with one
        // syscall; on an idle runtime the task resumes at once.
        co_await YieldNow();
      }
    }
    // Queue entries this round takes.
    size_t taken = 0;
    core->write_side.Begin([&](WebSocketWriter& writer, std::string& carry,
                               const absl::Status& direct_failure) {
      if (!direct_failure.ok()) {
        batch.Fail(direct_failure);
        return;
      }
      // What a direct write left over goes before everything else.
      batch.AddCarry(carry);
      carry.clear();
      batch.AddControl(core->TakeControl(), writer);
      // Every sender is gone.
      if (!control_round && !item.has_value()) batch.set_last();
      if (!batch.last() && item.has_value()) {
        batch.AddItem(*std::move(item), writer);
        taken = 1;
      }
      // At most one queue's worth per round, so that the connection never
      // holds more than twice outgoing_capacity messages.
      while (taken < core->options.outgoing_capacity && !batch.last() &&
             !batch.full()) {
        absl::StatusOr<WebSocketOutgoing> next = outgoing.TryRecv();
        if (!next.ok()) break;
        batch.AddItem(*std::move(next), writer);
        ++taken;
      }
    });
    // A Close frame, a stop, an encoding failure: nothing may follow this
    // round, so direct writes stop now (the round's own bytes go out below).
    if (batch.last()) core->write_side.Close();
    if (!batch.status().ok()) {
      core->RecordEnd(absl::InternalError(absl::StrCat(
                          "websocket failed: cannot encode a frame: ",
                          std::string(batch.status().message()))),
                      close_code::kInternalError, "");
      break;
    }
    if (!batch.empty()) {
      const absl::Status written =
          co_await core->stream->WriteAllV(batch.Chunks());
      if (!written.ok()) {
        core->RecordEnd(absl::UnavailableError(
                            absl::StrCat("websocket dropped: write failed: ",
                                         std::string(written.message()))),
                        close_code::kAbnormalClosure, "");
        break;
      }
      if (batch.has_close()) core->MarkCloseWritten();
    }
    if (batch.last()) break;
    core->write_side.End();
    // Written: the shared frames of this round are released now rather
    // than when the next round starts.
    batch.Reset();
  }
  // Nothing more will be written: a server half-closes if the reader
  // concluded already (otherwise the reader does when it concludes).
  if (core->role == Role::kServer && core->ArriveAtShutdown()) {
    (void)co_await core->stream->ShutdownWrite();
  }
}

}  // namespace troupe::net::internal
