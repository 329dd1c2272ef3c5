// WebSocketConnection: an open WebSocket (RFC 6455, with permessage-deflate
// from RFC 7692) over any ByteStream, for either end. The handshake is done
// elsewhere (http_server_connection.h for servers, websocket_client.h for
// clients); this is what comes after it.
//
// Contract:
//  - co_await ws.Receive() -> the next whole message (text or binary,
//    reassembled from its fragments and decompressed). Once the connection
//    is over it returns, after every message that arrived before the end,
//    the final status (see "How a connection ends"). One task at a time
//    may call Receive (or HandleMessages).
//  - co_await ws.HandleMessages(handler), instead of a Receive loop, for
//    request/response services: the connection calls handler(message)
//    with each message, in order, on its reader task as soon as it is
//    parsed - no channel, no wake-up of the application's task. (Messages
//    that were already queued when HandleMessages was called go to the
//    handler first, on the calling task; never two calls at once.) The
//    handler returns a Task<void>: an empty one (`return {};`) and the
//    reader reads on at once; a valid one and the reader awaits it
//    first - the handler's way to apply back-pressure, e.g. a Send that
//    waits for room when TrySend said kFull. Reading pauses while it
//    runs, exactly as it pauses while the incoming queue of Receive is
//    full (Pings included). The handler must not block the thread: it
//    runs on a runtime worker, between two reads of the connection. It
//    may call TrySend (which writes through, see "Write-through"),
//    Send/Ping/Close in the task it returns, or hand the message to
//    another task. Messages that arrive after Close() are dropped, as
//    with Receive. HandleMessages returns the final status once the
//    connection is over (what Receive would return last); by then the
//    handler has been destroyed. FailedPrecondition if the handler is
//    empty or a handler was installed already (HandleMessages is called
//    once). Receive after it returned reports the final status too.
//  - co_await ws.Send(message) sends a message: written through to the
//    stream at once when nothing is ahead of it, else queued; it waits
//    while the outgoing queue is full. ws.TrySend(message) never waits:
//    kFull (the message handed back) lets a hub apply its slow-consumer
//    policy. Both fail (kClosed) once Close() was called or the connection
//    ended. Any task, any thread; messages go out in the order they were
//    sent. Both also take a SharedWebSocketMessage: bytes encoded once and
//    shared by many connections, never copied per connection.
//  - co_await ws.Close(code, reason) runs the closing handshake: queues a
//    Close frame behind the messages already queued, waits for the peer's
//    Close, shuts the stream's writing side down and waits for the peer to
//    end its side (the lingering close below). Close returns within
//    options.close_timeout in every case: a peer that has not answered by
//    then is cut off (DeadlineExceeded); one that answered but has not
//    ended its side is cut off too, and Close reports OK (the handshake
//    completed). Messages that arrive after Close() are dropped (those
//    received before it can still be taken with Receive), so an
//    application that stopped receiving cannot stall the handshake.
//  - Handled without the application: a Ping is answered with a Pong
//    (only the latest, if several wait); unsolicited Pongs are ignored;
//    control frames may arrive between the fragments of a message; a
//    peer's Close is echoed. Protocol violations fail the connection with
//    a Close frame carrying the RFC's code: 1002 (masking rules, reserved
//    bits or opcodes not negotiated, bad fragmentation, invalid close
//    code), 1007 (invalid UTF-8 in a text message, found as soon as the
//    offending byte arrives even mid-message, or in a close reason;
//    corrupt compressed data), 1009 (a message over max_message_size or
//    a frame over max_frame_size).
//
// Design: two tasks per connection, spawned by Start(), and fast paths.
//  - The reader owns the parser. It reads, parses and pushes each message
//    into a bounded channel (options.incoming_capacity messages) that
//    Receive() pulls from. When the application falls behind and the
//    channel is full, the reader waits on it and stops reading: the
//    stream's own back-pressure then reaches the peer. (Pings are not
//    answered meanwhile either: the connection is paused as a whole.)
//    Once HandleMessages installed its handler, the reader calls it
//    instead of pushing: the handler takes over from the channel only
//    when the channel is empty (under a lock the reader's pushes take
//    too), so the order of messages is kept across the switch.
//  - The writer owns the frame writer. It drains a bounded channel
//    (options.outgoing_capacity messages) that Send/TrySend/Ping/Close
//    feed, gathers what is queued (up to one queue's worth, at most 64 KiB
//    or 128 frames a round) into one vectored write - frame headers and
//    message bytes in place, no copy of an uncompressed server message -
//    and waits on the stream when the peer does not read - so
//    Send waits once the queue is full, and a connection holds at most
//    2 x outgoing_capacity messages plus what the stream buffers. The reader's
//    replies (Pong, the echoed or failing Close) do not queue behind data: they
//    sit in a one-slot mailbox that the writer empties before each batch.
//  - Write-through (options.write_through, on streams with TryWriteV such
//    as TcpStream): when nothing is queued or being written, Send/TrySend
//    frame the message and write it to the stream themselves, one
//    non-blocking write, no queue and no writer turn. What the stream does
//    not take at once (a full socket buffer, a partial write, an error) is
//    handed to the writer task, which writes it before anything else; a
//    message sent while anything is ahead of it is queued as above. So the
//    wire order, the Close frame being last and the permessage-deflate
//    context are what they would be with the queue alone, and the bound
//    above grows by at most the rest of one message, the one handed over
//    (websocket_write_side.h has the rules).
//
// How a connection ends (the reader's termination protocol; steps 2-5
// take at most options.close_timeout together):
//   1. The reader stops at the peer's Close frame, a protocol violation,
//      end of stream or a read error.
//   2. It records why (first outcome wins) and asks the writer for a Close
//      frame (the echo of the peer's code, or the code of the violation)
//      unless one was sent already; on end of stream or a read error it
//      just asks the writer to stop.
//   3. A server shuts the stream's writing side down (a TCP FIN after the
//      Close frame) as soon as the writer has written its last frame: the
//      writer does, or the reader if the writer was done first. A client
//      waits for the server's end of stream first (step 5), as RFC 6455
//      7.1.1 asks: the server closes the TCP connection first.
//   4. Lingering close (RFC 6455 7.1.1: close the TCP connection cleanly,
//      discarding trailing bytes): after a Close frame or a violation the
//      peer may still be sending - the rest of a message over the limit,
//      or just its own FIN - so the reader reads and discards until the
//      peer ends its side (or the stream fails). A socket closed with
//      unread input is reset by the kernel, and the reset can destroy our
//      Close frame before the peer reads it; after this step nothing is
//      left unread. A well-behaved peer ends its side within a round trip
//      of receiving our Close and FIN.
//   5. It waits for the writer to finish, aborting it once close_timeout
//      has passed (a peer that neither reads nor ends its side), and then
//      shuts the writing side down unless step 3 did (a client, or a
//      server whose writer was aborted).
//   6. It closes the incoming channel: Receive returns what is buffered,
//      then the final status:
//        OutOfRange        - closed by a Close handshake (either side);
//        DataLoss          - we failed it: 1002, 1007 (see close_info());
//        ResourceExhausted - we failed it with 1009;
//        Unavailable       - the stream ended or broke without a Close;
//        DeadlineExceeded  - our Close was not answered in time;
//        Cancelled         - the connection was aborted locally.
// So an application can drop the connection as soon as Receive (or Close)
// reported the end: the lingering is over (or was cut off) by then.
// Destroying a WebSocketConnection that is still open aborts both tasks
// without a Close frame (the stream is released once they are gone); call
// Close() first for an orderly end.
//
// Lifetime: Start() must run inside a task of a runtime (it spawns). The
// connection object is move-only; awaiting its methods requires it to stay
// alive until they return. GCC 12: build messages and option structs
// outside co_await expressions (see README.md), e.g.
//   WebSocketMessage m = WebSocketMessage::Text("hi");
//   co_await ws.Send(std::move(m));
//
// Example (an echo handler):
//   for (;;) {
//     absl::StatusOr<WebSocketMessage> m = co_await ws.Receive();
//     if (!m.ok()) break;  // closed: m.status(), ws.close_info()
//     absl::Status sent = co_await ws.Send(std::move(*m));
//     if (!sent.ok()) break;
//   }
// or, without the hop from the reader task to the application's:
//   absl::Status end = co_await ws.HandleMessages(
//       [&ws](WebSocketMessage m) -> Task<void> {
//         SendResult<WebSocketMessage> r = ws.TrySend(std::move(m));
//         if (!r.IsFull()) return {};  // sent, or closing
//         return SendWhenRoom(ws, r.TakeValue());  // pauses reading
//       });
#ifndef TROUPE_NET_WEBSOCKET_CONNECTION_H_
#define TROUPE_NET_WEBSOCKET_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/mpsc.h"
#include "channels/send_result.h"
#include "executor/clock.h"
#include "executor/join_handle.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/close_codes.h"
#include "net/permessage_deflate.h"
#include "net/websocket_types.h"

namespace troupe::net {

class WebSocketMessage {
 public:
  enum class Type : uint8_t { kText, kBinary };

  WebSocketMessage(Type type, std::string data)
      : type_(type), data_(std::move(data)) {}
  static WebSocketMessage Text(std::string data) {
    return WebSocketMessage(Type::kText, std::move(data));
  }
  static WebSocketMessage Binary(std::string data) {
    return WebSocketMessage(Type::kBinary, std::move(data));
  }

  Type type() const { return type_; }
  bool is_text() const { return type_ == Type::kText; }
  const std::string& data() const { return data_; }
  std::string& data() { return data_; }
  std::string TakeData() { return std::move(data_); }

 private:
  Type type_;
  std::string data_;
};

// Message bytes shared, immutable, by every connection they go to: a hub
// encodes a room message once and hands the same bytes to each member.
using SharedBytes = std::shared_ptr<const std::string>;

// A message whose bytes are shared (see SharedBytes). The connection
// keeps a reference until the bytes are on the stream, and frames them
// without copying them (unless it compresses or masks: then into its own
// buffer).
class SharedWebSocketMessage {
 public:
  SharedWebSocketMessage(WebSocketMessage::Type type, SharedBytes data)
      : type_(type), data_(std::move(data)) {}

  WebSocketMessage::Type type() const { return type_; }
  bool is_text() const { return type_ == WebSocketMessage::Type::kText; }
  const SharedBytes& data() const { return data_; }
  SharedBytes TakeData() { return std::move(data_); }

 private:
  WebSocketMessage::Type type_;
  SharedBytes data_;
};

struct WebSocketOptions {
  // Largest message after reassembly and decompression (else 1009).
  uint64_t max_message_size = uint64_t{16} << 20;
  // Largest single frame payload on the wire (else 1009).
  uint64_t max_frame_size = uint64_t{16} << 20;
  // Messages received but not yet taken by Receive() before reading pauses.
  size_t incoming_capacity = 16;
  // Messages queued for sending before Send waits and TrySend says kFull.
  size_t outgoing_capacity = 64;
  // Send/TrySend write a message through to the stream themselves when
  // nothing is ahead of it (see the top of this file): the least latency
  // and CPU for request/response traffic, one syscall per message. Off:
  // every message goes through the writer task, whose rounds gather what
  // was sent meanwhile into one write - better for a server that sends
  // bursts of messages to a connection from other tasks (a fan-out).
  bool write_through = true;
  // How long the closing handshake may take, lingering included (see the
  // top of this file).
  Duration close_timeout = std::chrono::seconds(5);
  // Bytes per stream read.
  size_t read_buffer_size = 16 * 1024;
  // permessage-deflate, when negotiated: zlib level, and the size under
  // which messages go out uncompressed.
  int compression_level = kDefaultCompressionLevel;
  size_t min_compress_size = 32;
};

// What HandleMessages calls with each message (see the top of this file):
// returns an empty Task to read on at once, or a Task the reader awaits
// before it reads on.
using WebSocketMessageHandler =
    absl::AnyInvocable<Task<void>(WebSocketMessage message)>;

// What the opening handshake decided.
struct WebSocketSession {
  Role role = Role::kServer;
  std::string subprotocol;
  std::optional<DeflateParams> deflate;
  // Bytes that arrived right after the handshake, already read from the
  // stream: the start of the first frames.
  std::string initial_bytes;
};

// Why the connection ended (valid once Receive() returned a non-OK status
// or Close() returned).
struct WebSocketCloseInfo {
  // The code of the Close frame that ended the connection: the peer's
  // (1005 if it had none), or ours when we failed the connection; 1006
  // when it ended without a Close.
  uint16_t code = close_code::kAbnormalClosure;
  std::string reason;
  // Both Close frames were exchanged.
  bool clean = false;
};

namespace internal {

struct WebSocketCore;

// Counts an entry of the outgoing queue in its connection's count of
// unwritten entries (websocket_write_side.h) for as long as the entry
// lives: made before the entry is pushed, it goes away with the entry -
// handed back by a failed push, dropped by an abandoned one, or taken and
// finished with by the writer task. Move-only; a moved-from or default
// mark counts nothing. It shares the count's ownership, so an entry may
// outlive the connection's state (a queue dropped last, by a task frame
// destroyed after it). Relaxed: see WebSocketWriteSide::Mark().
class UnwrittenMark {
 public:
  UnwrittenMark() = default;
  explicit UnwrittenMark(std::shared_ptr<std::atomic<size_t>> count)
      : count_(std::move(count)) {
    count_->fetch_add(1, std::memory_order_relaxed);
  }
  UnwrittenMark(UnwrittenMark&& other) noexcept = default;
  UnwrittenMark& operator=(UnwrittenMark&& other) noexcept {
    if (this != &other) {
      Reset();
      count_ = std::move(other.count_);
    }
    return *this;
  }
  UnwrittenMark(const UnwrittenMark&) = delete;
  UnwrittenMark& operator=(const UnwrittenMark&) = delete;
  ~UnwrittenMark() { Reset(); }

 private:
  void Reset() {
    if (count_ != nullptr) count_->fetch_sub(1, std::memory_order_relaxed);
    count_.reset();
  }

  std::shared_ptr<std::atomic<size_t>> count_;
};

// An entry of the outgoing queue: a message, or a Ping or Close from the
// application, or a bare wake-up for the writer (see websocket_core.h).
struct WebSocketOutgoing {
  enum class Kind : uint8_t { kMessage, kPing, kClose, kWake };

  WebSocketOutgoing(Kind kind, Opcode opcode, std::string payload,
                    uint16_t code = 0)
      : kind(kind), opcode(opcode), data(std::move(payload)), code(code) {}
  // A message with shared bytes.
  WebSocketOutgoing(Opcode opcode, SharedBytes shared)
      : kind(Kind::kMessage), opcode(opcode), data(std::move(shared)) {}

  // The payload's bytes, wherever they live.
  std::string_view bytes() const {
    if (const SharedBytes* shared = std::get_if<SharedBytes>(&data)) {
      return *shared != nullptr ? std::string_view(**shared)
                                : std::string_view();
    }
    return std::get<std::string>(data);
  }

  Kind kind;
  Opcode opcode;  // kMessage: kText or kBinary
  // The message data (owned, or shared by many connections), the ping
  // payload or the close reason. One or the other, not a string beside a
  // pointer: an entry is moved several times on its way to the socket, and
  // moving a short string costs a copy of its inline buffer.
  std::variant<std::string, SharedBytes> data;
  uint16_t code = 0;   // kClose
  UnwrittenMark mark;  // set by the sender before the push
};

}  // namespace internal

class WebSocketConnection {
 public:
  // Spawns the reader and writer tasks on the current runtime. Fails if a
  // zlib stream cannot be set up or outside a runtime.
  static absl::StatusOr<WebSocketConnection> Start(
      std::unique_ptr<AnyByteStream> stream, WebSocketSession session,
      WebSocketOptions options = {});
  template <ByteStream S>
  static absl::StatusOr<WebSocketConnection> Start(
      S stream, WebSocketSession session, WebSocketOptions options = {}) {
    return Start(MakeAnyByteStream(std::move(stream)), std::move(session),
                 options);
  }

  WebSocketConnection(WebSocketConnection&&) noexcept;
  WebSocketConnection& operator=(WebSocketConnection&&) noexcept;
  WebSocketConnection(const WebSocketConnection&) = delete;
  WebSocketConnection& operator=(const WebSocketConnection&) = delete;
  ~WebSocketConnection();

  // The next message, or the final status (see the top of this file).
  Task<absl::StatusOr<WebSocketMessage>> Receive();
  // Calls `handler` with every message, on the reader task, until the
  // connection is over; then its final status (see the top of this file).
  Task<absl::Status> HandleMessages(WebSocketMessageHandler handler);

  // Queues `message`, waiting while the queue is full. FailedPrecondition
  // once the connection is closing or closed.
  Task<absl::Status> Send(WebSocketMessage message);
  // Queues `message` if there is room; kFull or kClosed hand it back.
  SendResult<WebSocketMessage> TrySend(WebSocketMessage message);
  // The same for shared bytes: nothing is copied (see SharedBytes).
  Task<absl::Status> Send(SharedWebSocketMessage message);
  SendResult<SharedWebSocketMessage> TrySend(SharedWebSocketMessage message);
  // Queues a Ping (payload cut to 125 bytes). The Pong is not reported.
  Task<absl::Status> Ping(std::string payload = {});

  // The closing handshake. `code` must be one an endpoint may send
  // (1000-1003, 1007-1014, 3000-4999) and `reason` valid UTF-8 of at most
  // 123 bytes (InvalidArgument otherwise, nothing sent). OK once both
  // Close frames were exchanged (also if the peer closed first); otherwise
  // the final status, e.g. DeadlineExceeded for a silent peer.
  Task<absl::Status> Close(uint16_t code = close_code::kNormal,
                           std::string reason = {});

  // Cuts the connection off without a Close frame: ends the reader and
  // writer (queued outgoing messages are dropped), waits until both are
  // gone and shuts the stream down. Once it returns the reader is gone,
  // and with it any call of the handler it was making (and the task that
  // call returned); HandleMessages returns once the handler calls it makes
  // itself - for messages queued before the handler was installed - are
  // over. Receive still returns messages read before the abort, then the
  // end. Safe to call more than once, and after the connection ended.
  Task<void> Abort();

  // Whether the connection has ended, lingering close included (Receive
  // would return its status once the buffered messages are taken).
  bool finished() const;
  // Why it ended; meaningful once finished().
  WebSocketCloseInfo close_info() const;

  Role role() const;
  const std::string& subprotocol() const;
  const std::optional<DeflateParams>& deflate() const;

 private:
  WebSocketConnection() = default;
  // Queues `item`, waiting for room (Send and Ping).
  Task<absl::Status> SendItem(internal::WebSocketOutgoing item);
  std::shared_ptr<internal::WebSocketCore> core_;
  Sender<internal::WebSocketOutgoing> outgoing_;
  JoinHandle<void> reader_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_CONNECTION_H_
