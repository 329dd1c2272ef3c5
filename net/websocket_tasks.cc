// The reader task of a WebSocketConnection (websocket_core.h); the writer
// task is in websocket_writer_task.cc.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/clock.h"
#include "executor/io_driver.h"
#include "executor/io_readiness.h"
#include "executor/sleep.h"
#include "net/websocket_core.h"

namespace troupe::net::internal {
namespace {

// Why the reader stopped reading.
struct ReadEnd {
  enum class Kind : uint8_t { kPeerClose, kViolation, kEndOfStream, kError };
  ReadEnd(Kind kind, uint16_t code, std::string reason)
      : kind(kind), code(code), reason(std::move(reason)) {}
  Kind kind;
  uint16_t code;
  std::string reason;  // close reason, violation, or read error
};

std::span<uint8_t> Bytes(char* data, size_t size) {
  return {reinterpret_cast<uint8_t*>(data), size};
}

// Hands `message` to the installed handler (websocket_connection.h,
// HandleMessages) on this task and returns what the handler returned: the
// caller awaits it if valid (reading pauses meanwhile). Not a coroutine:
// no frame per message. Dropped once Close() was called.
Task<void> CallHandler(WebSocketCore& core, WebSocketMessage message) {
  // Acquire: pairs with Close()'s release store (nothing else is read
  // through it; a message racing with Close is the application's race).
  if (core.close_requested.load(std::memory_order_acquire)) return Task<void>();
  return core.handler()(std::move(message));
}

// After a waiting push the handler may have been installed meanwhile
// (WebSocketCore::AfterQueued): then what is queued is the reader's to
// hand over, in order, before the next message.
Task<void> HandOverQueued(WebSocketCore& core) {
  for (;;) {
    absl::StatusOr<WebSocketMessage> queued = core.incoming.TryRecv();
    if (!queued.ok()) co_return;
    Task<void> wait = CallHandler(core, *std::move(queued));
    if (wait.valid()) co_await std::move(wait);
  }
}

// Reads and parses until the connection stops being readable, delivering
// messages (to the incoming channel, or to the handler) and posting Pongs
// on the way.
Task<ReadEnd> ReadUntilEnd(WebSocketCore& core, WebSocketParser& parser,
                           Sender<WebSocketMessage>& incoming,
                           const Sender<WebSocketOutgoing>& wake,
                           std::string& initial_bytes,
                           std::vector<char>& buffer) {
  std::span<uint8_t> input = Bytes(initial_bytes.data(), initial_bytes.size());
  // Once the application stops receiving (Close() called, or the
  // connection dropped), messages are read and dropped.
  bool discard = false;
  for (;;) {
    const WebSocketEvent event = parser.Parse(input);
    input = input.subspan(event.consumed);
    switch (event.type) {
      case WebSocketEventType::kNeedMore: {
        // A socket: wait for readiness with the registration's awaiter and
        // read (no coroutine frame per read); other streams: Read.
        std::optional<absl::StatusOr<size_t>> read;
        if (const IoRegistration* io = core.stream->ReadRegistration()) {
          while (!read.has_value()) {
            const ReadyEvent seen = co_await io->Ready(Interest::kRead);
            read = core.stream->TryRead(buffer, seen);
          }
        } else {
          read = co_await core.stream->Read(buffer);
        }
        absl::StatusOr<size_t>& n = *read;
        if (!n.ok()) {
          co_return ReadEnd(ReadEnd::Kind::kError, close_code::kAbnormalClosure,
                            std::string(n.status().message()));
        }
        if (*n == 0) {
          co_return ReadEnd(ReadEnd::Kind::kEndOfStream,
                            close_code::kAbnormalClosure, "");
        }
        input = Bytes(buffer.data(), *n);
        break;
      }
      case WebSocketEventType::kText:
      case WebSocketEventType::kBinary: {
        if (discard) break;
        WebSocketMessage message(event.type == WebSocketEventType::kText
                                     ? WebSocketMessage::Type::kText
                                     : WebSocketMessage::Type::kBinary,
                                 std::string(event.text()));
        // The handler's path takes no lock: once installed, it stays.
        if (core.handler_installed()) {
          Task<void> wait = CallHandler(core, std::move(message));
          if (wait.valid()) co_await std::move(wait);
          break;
        }
        switch (core.Deliver(incoming, message)) {
          case WebSocketCore::Delivery::kHandler: {
            Task<void> wait = CallHandler(core, std::move(message));
            if (wait.valid()) co_await std::move(wait);
            break;
          }
          case WebSocketCore::Delivery::kQueued:
            break;
          case WebSocketCore::Delivery::kFull: {
            // Waits while the application is behind: reading pauses here.
            SendResult<WebSocketMessage> sent =
                co_await incoming.Send(std::move(message));
            if (!sent.ok()) {
              discard = true;
            } else if (core.AfterQueued()) {
              co_await HandOverQueued(core);
            }
            break;
          }
          case WebSocketCore::Delivery::kClosed:
            discard = true;
            break;
        }
        break;
      }
      case WebSocketEventType::kPing:
        core.PostPong(std::string(event.text()));
        core.WakeWriter(wake);
        break;
      case WebSocketEventType::kPong:
        break;  // unsolicited, or answering our Ping: nothing to do
      case WebSocketEventType::kClose:
        co_return ReadEnd(ReadEnd::Kind::kPeerClose, event.close_code,
                          std::string(event.text()));
      case WebSocketEventType::kError:
        co_return ReadEnd(ReadEnd::Kind::kViolation, event.close_code,
                          std::string(event.error));
    }
  }
}

// Termination step 4, the lingering close: reads and discards until the
// peer ends its side (or the stream fails), so that the stream is closed
// with nothing unread. (A TCP socket closed with unread input answers with
// a reset, and a reset can destroy our Close frame in the peer's receive
// queue before the peer has read it.) The caller bounds it with a Timeout.
Task<void> DiscardUntilEnd(AnyByteStream& stream, std::vector<char>& buffer) {
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.Read(buffer);
    if (!n.ok() || *n == 0) co_return;
  }
}

// Whether the peer may still be sending after `end`, so that the reader
// must linger.
bool PeerMayStillSend(const ReadEnd& end) {
  switch (end.kind) {
    case ReadEnd::Kind::kPeerClose:  // until it sees our Close, and its FIN
    case ReadEnd::Kind::kViolation:  // e.g. the rest of an oversized message
      return true;
    case ReadEnd::Kind::kEndOfStream:
    case ReadEnd::Kind::kError:
      return false;
  }
  return false;
}

std::string Describe(std::string_view what, uint16_t code,
                     std::string_view reason) {
  std::string text = absl::StrCat(std::string(what), " ", code);
  if (!reason.empty()) absl::StrAppend(&text, " (", std::string(reason), ")");
  return text;
}

// Step 2 of the termination protocol: record why, and tell the writer
// what to do last.
void Conclude(WebSocketCore& core, const ReadEnd& end) {
  switch (end.kind) {
    case ReadEnd::Kind::kPeerClose:
      core.RecordEnd(absl::OutOfRangeError(Describe(
                         "websocket closed with code", end.code, end.reason)),
                     end.code, end.reason);
      core.MarkCloseReceived();
      core.PostClose(CloseReplyCode(end.code), "");
      return;
    case ReadEnd::Kind::kViolation: {
      const std::string text =
          Describe("websocket failed: sent close code", end.code, end.reason);
      core.RecordEnd(end.code == close_code::kMessageTooBig
                         ? absl::ResourceExhaustedError(text)
                         : absl::DataLossError(text),
                     end.code, end.reason);
      core.PostClose(end.code, end.reason);
      return;
    }
    case ReadEnd::Kind::kEndOfStream:
      core.RecordEnd(absl::UnavailableError(
                         "websocket dropped: end of stream without a Close"),
                     end.code, "");
      core.PostStop();
      return;
    case ReadEnd::Kind::kError:
      core.RecordEnd(absl::UnavailableError(absl::StrCat(
                         "websocket dropped: read failed: ", end.reason)),
                     end.code, "");
      core.PostStop();
      return;
  }
}

}  // namespace

Task<void> RunWebSocketReader(std::shared_ptr<WebSocketCore> core,
                              WebSocketParser parser,
                              Sender<WebSocketMessage> incoming,
                              Sender<WebSocketOutgoing> wake,
                              std::string initial_bytes,
                              EndOfTask end_of_task) {
  // The first local: its work comes after the other locals' (EndOfTask).
  const EndOfTask at_exit = std::move(end_of_task);
  std::vector<char> buffer(std::max<size_t>(core->options.read_buffer_size, 1));
  const ReadEnd end = co_await ReadUntilEnd(*core, parser, incoming, wake,
                                            initial_bytes, buffer);
  // Steps 2 to 5 take at most close_timeout together.
  const Instant deadline = CurrentClock().Now() + core->options.close_timeout;

  // Step 2: record why, ask the writer for its last frame.
  Conclude(*core, end);
  core->WakeWriter(wake);
  wake = Sender<WebSocketOutgoing>();

  // Step 3 (a server): if the writer is done already, half-close now
  // (otherwise the writer does once it wrote its last frame).
  if (core->role == Role::kServer && core->ArriveAtShutdown()) {
    (void)co_await core->stream->ShutdownWrite();
  }

  // Step 4: linger until the peer ends its side.
  if (PeerMayStillSend(end)) {
    (void)co_await TimeoutAt(deadline, DiscardUntilEnd(*core->stream, buffer));
  }

  // Step 5: the writer must be done by now: a peer that neither reads nor
  // ends its side is cut off.
  const absl::Status writer_finished =
      co_await TimeoutAt(deadline, core->writer_done.Wait());
  if (!writer_finished.ok()) {
    core->writer.Abort();
    co_await core->writer_done.Wait();
  }
  // A client half-closes only now, after the server did (RFC 6455 7.1.1:
  // the server closes first, so that the client is not left in TIME_WAIT);
  // and a server whose writer was aborted before it could.
  if (core->TakeShutdownDuty()) (void)co_await core->stream->ShutdownWrite();

  // Step 6: Receive() sees the end once the buffered messages are taken.
  incoming = Sender<WebSocketMessage>();
}

}  // namespace troupe::net::internal
