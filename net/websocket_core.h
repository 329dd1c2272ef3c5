// The state a WebSocketConnection shares with its reader and writer tasks
// (see websocket_connection.h for the design). Internal to //net.
//
// Who touches what:
//  - stream: the reader calls Read; the writer task WriteAllV, and direct
//    writes (Send/TrySend's write-through) TryWriteV, taking turns through
//    write_side (websocket_write_side.h). ShutdownWrite is
//    called once, when nothing will be written any more. On a server: by
//    the second of the reader (once it concluded) and the writer (once it
//    wrote its last bytes) to call ArriveAtShutdown(). Otherwise (a client,
//    or a writer aborted before it arrived) by whoever wins
//    TakeShutdownDuty(): the reader at the end of its termination protocol,
//    or Abort() after both tasks are gone.
//  - writer (the writer task's JoinHandle): set by Start() before the
//    reader is spawned, then only Abort()ed (thread-safe); never awaited.
//  - reader_done / writer_done: fired when the task's frame goes away,
//    however it ends (returned, aborted, destroyed at runtime shutdown).
//  - everything under `mu_`: the one-slot mailbox from the reader to the
//    writer (pong, close, stop), whether a Close frame was sent/written,
//    and the outcome.
//  - incoming (the Receiver of the incoming channel): Receive() and
//    HandleMessages() take from it on the application's task, the reader
//    after HandleMessages() installed its handler (see "delivery" below);
//    never two at once. Close() closes it from any task.
//  - everything under `delivery_mu_`: the message handler and whether it
//    is installed (websocket_connection.h, HandleMessages). The reader
//    takes the lock around each push into the incoming channel until the
//    handler is installed, and never afterwards.
//
// Example:
//   core->PostPong(payload);     // reader
//   Control c = core->TakeControl();  // writer, before each batch
#ifndef TROUPE_NET_WEBSOCKET_CORE_H_
#define TROUPE_NET_WEBSOCKET_CORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "channels/mpsc.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/websocket_connection.h"
#include "net/websocket_parser.h"
#include "net/websocket_write_side.h"
#include "net/websocket_writer.h"

namespace troupe::net::internal {

// A one-time event that any number of tasks can wait for. (A
// CancellationToken is exactly that: Cancel() is the firing.)
class DoneSignal {
 public:
  void Fire() const { token_.Cancel(); }
  bool fired() const { return token_.IsCancelled(); }
  // Completes once fired. A Task, so that it can go under a Timeout.
  Task<void> Wait() const;

 private:
  CancellationToken token_;
};

struct WebSocketCore {
  WebSocketCore(std::unique_ptr<AnyByteStream> stream, Role role,
                std::string subprotocol, std::optional<DeflateParams> deflate,
                WebSocketOptions options, WebSocketWriter writer,
                Receiver<WebSocketMessage> incoming)
      : stream(std::move(stream)),
        incoming(std::move(incoming)),
        role(role),
        subprotocol(std::move(subprotocol)),
        deflate(deflate),
        options(options),
        write_side(std::move(writer),
                   options.write_through && this->stream->CanTryWrite()) {}

  // What the writer must do before its next batch.
  struct Control {
    std::optional<std::string> pong;
    std::optional<uint16_t> close_code;  // a Close frame to send
    std::string close_reason;
    bool stop = false;  // stop after this batch
  };

  // ---- reader -> writer mailbox ----
  // A Pong for `payload`, replacing one not yet sent (RFC 6455 5.5.3).
  void PostPong(std::string payload);
  // A Close frame to send (unless one was sent), then stop.
  void PostClose(uint16_t code, std::string reason);
  // Stop without a Close frame.
  void PostStop();
  Control TakeControl();
  // Pushes a bare wake-up (kWake) to the writer task through `outgoing`,
  // marked in write_side like every entry. A full queue is fine: the
  // writer task has entries to take, and each round looks at the mailbox
  // and the carry first.
  void WakeWriter(const Sender<WebSocketOutgoing>& outgoing);
  // Whether a post waits (the writer checks before waiting for a message).
  // A post is never left behind: the reader wakes the writer after each
  // post with a wake-up message, and when the outgoing queue is full that
  // push fails - but only because the writer has not yet reported taking
  // queued messages, and it reports that (a seq_cst store in the channel)
  // before it next checks here. The post's store and this load are
  // seq_cst too, and the failed push read the channel's count with a
  // seq_cst load that came before the writer's report; so this load comes
  // after the post in the single total order and sees it.
  bool control_posted() const {
    return control_posted_.load(std::memory_order_seq_cst);
  }

  // ---- close bookkeeping ----
  // True for the one caller that gets to send the Close frame.
  bool MarkCloseSent();
  bool close_sent() const;
  // Our Close frame is on the stream / the peer's Close frame arrived.
  // Both: the closing handshake is complete (CloseInfo().clean).
  void MarkCloseWritten();
  void MarkCloseReceived();

  // ---- the write side's shutdown ----
  // On a server: called once by the reader when it concluded (termination
  // step 3) and once by the writer when it wrote its last bytes. True for
  // the second caller, which then holds the shutdown duty and half-closes
  // the stream.
  bool ArriveAtShutdown();
  // True once, for whoever shuts the stream down (taken by a true
  // ArriveAtShutdown too).
  bool TakeShutdownDuty();

  // ---- delivery: the incoming channel, or the message handler ----
  // How the reader hands a message over.
  enum class Delivery : uint8_t {
    kHandler,  // the handler is installed: call it (handler())
    kQueued,   // pushed into the incoming channel
    kFull,     // the channel is full: wait in Send, then AfterQueued()
    kClosed,   // the application stopped receiving (Close()): drop it
  };
  // The reader, for each message: pushes it into the incoming channel
  // unless the handler is installed (kHandler: `message` is left as is).
  // On kFull and kClosed `message` is handed back.
  Delivery Deliver(const Sender<WebSocketMessage>& incoming,
                   WebSocketMessage& message);
  // The reader, after a waiting Send into the channel succeeded: whether
  // the handler was installed meanwhile - then the channel may hold that
  // message and the reader must hand what is queued to the handler
  // itself (nobody else takes from the channel any more).
  bool AfterQueued();
  // Fast check for the reader, without the lock. Acquire: pairs with the
  // release store in InstallHandler, so the handler written before it is
  // visible; only the reader calls the handler once it is installed.
  bool handler_installed() const {
    return handler_installed_.load(std::memory_order_acquire);
  }
  // The installed handler; the reader's only.
  WebSocketMessageHandler& handler() { return handler_; }

  // HandleMessages, once it took what was queued: installs `handler` if
  // the incoming channel is still empty and the reader still delivers.
  enum class Install : uint8_t { kInstalled, kMoreQueued, kReaderGone };
  Install InstallHandler(WebSocketMessageHandler& handler);
  // The reader's frame, however it ends (an absl::Cleanup in it): no
  // delivery after this; destroys the handler (outside the lock).
  void EndDeliveries();

  // ---- outcome ----
  // Records how the connection ended; the first call wins.
  void RecordEnd(absl::Status status, uint16_t code, std::string reason);
  // Receive()'s final status.
  absl::Status FinalStatus() const;
  WebSocketCloseInfo CloseInfo() const;

  const std::unique_ptr<AnyByteStream> stream;
  // The application's end of the incoming channel (see the top).
  Receiver<WebSocketMessage> incoming;
  const Role role;
  const std::string subprotocol;
  const std::optional<DeflateParams> deflate;
  const WebSocketOptions options;
  // The frame encoder and whose turn it is to write (the writer task's or
  // a direct write's).
  WebSocketWriteSide write_side;

  JoinHandle<void> writer;
  DoneSignal reader_done;
  DoneSignal writer_done;
  // Close() was called: Send/TrySend refuse new messages.
  std::atomic<bool> close_requested{false};

 private:
  // Everything below is guarded by mu_ (std::mutex rather than
  // absl::Mutex: ThreadSanitizer sees through it; Debian's Abseil is not
  // instrumented).
  mutable std::mutex mu_;
  Control control_;
  // Set under mu_ with each post, cleared under mu_ by TakeControl: lets
  // the writer skip the lock when the mailbox is empty.
  std::atomic<bool> control_posted_{false};
  bool close_sent_ = false;
  bool close_written_ = false;
  bool close_received_ = false;
  int shutdown_arrivals_ = 0;
  bool shutdown_taken_ = false;
  bool ended_ = false;
  absl::Status status_;
  WebSocketCloseInfo info_;

  // Delivery (see the top). delivery_mu_ makes "the channel is empty, so
  // the handler takes over" (InstallHandler) atomic with the reader's
  // pushes: a push either comes before it (InstallHandler sees it and
  // declines) or after (the reader sees the handler). Only a push that
  // waited for room happens outside the lock; AfterQueued covers it.
  std::mutex delivery_mu_;
  WebSocketMessageHandler handler_;  // set under delivery_mu_, see above
  // Set once, under delivery_mu_, after handler_ (release; see
  // handler_installed()).
  std::atomic<bool> handler_installed_{false};
  bool deliveries_ended_ = false;  // guarded by delivery_mu_
};

// The end of a reader or writer task, done when the task's frame goes
// however it ends (returned, aborted, or destroyed before it ever ran):
// the writer's closes the write side (no direct write without a writer)
// and fires writer_done; the reader's ends the deliveries to a handler
// (the handler is gone by the time the end is reported) and fires
// reader_done - so that Abort, Receive and HandleMessages see the end.
// The tasks take it as their last parameter, for a frame destroyed before
// its first run (which has its parameters only), and move it into their
// first local when they start, so that after a run it acts once their
// other locals are gone, before their parameters.
class EndOfTask {
 public:
  enum class Side : uint8_t { kReader, kWriter };
  EndOfTask(std::shared_ptr<WebSocketCore> core, Side side)
      : core_(std::move(core)), side_(side) {}
  EndOfTask(EndOfTask&& other) noexcept = default;
  EndOfTask& operator=(EndOfTask&&) = delete;
  ~EndOfTask();

 private:
  std::shared_ptr<WebSocketCore> core_;  // null once moved from
  Side side_;
};

// The reader task: reads, parses, delivers messages into `incoming` (or
// to the installed handler, see Deliver), posts control replies (waking the
// writer through `wake`), and runs the termination protocol, lingering close
// included (websocket_connection.h).
Task<void> RunWebSocketReader(std::shared_ptr<WebSocketCore> core,
                              WebSocketParser parser,
                              Sender<WebSocketMessage> incoming,
                              Sender<WebSocketOutgoing> wake,
                              std::string initial_bytes, EndOfTask end);

// The writer task: drains `outgoing`, the reader's mailbox and what direct
// writes left over into the stream until a Close frame is written, a stop
// is posted, every sender is gone, or a write fails; then arrives at the
// shutdown (see above).
Task<void> RunWebSocketWriter(std::shared_ptr<WebSocketCore> core,
                              Receiver<WebSocketOutgoing> outgoing,
                              EndOfTask end);

}  // namespace troupe::net::internal

#endif  // TROUPE_NET_WEBSOCKET_CORE_H_
