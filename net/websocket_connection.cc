#include "net/websocket_connection.h"

#include <algorithm>

#include "executor/scheduler.h"
#include "executor/sleep.h"
#include "net/utf8.h"
#include "net/websocket_core.h"
#include "net/websocket_frame.h"
#include "net/websocket_write_side.h"

namespace troupe::net {
namespace {

using internal::WebSocketOutgoing;

template <typename Message>
Opcode OpcodeOf(const Message& message) {
  return message.is_text() ? Opcode::kText : Opcode::kBinary;
}

absl::Status ClosingError() {
  return absl::FailedPreconditionError(
      "the websocket connection is closing or closed");
}

// Queues `item`, waiting for room. False if the writer is gone.
Task<bool> Enqueue(std::shared_ptr<internal::WebSocketCore> core,
                   Sender<WebSocketOutgoing> outgoing, WebSocketOutgoing item) {
  item.mark = core->write_side.Mark();
  SendResult<WebSocketOutgoing> sent = co_await outgoing.Send(std::move(item));
  co_return sent.ok();
}

// Queues `item` if there is room (marked: websocket_write_side.h).
SendResult<WebSocketOutgoing> TryEnqueue(internal::WebSocketCore& core,
                                         const Sender<WebSocketOutgoing>& out,
                                         WebSocketOutgoing item) {
  item.mark = core.write_side.Mark();
  return out.TrySend(std::move(item));
}

// The write-through fast path: true if the message is sent (written, or
// handed to the writer task) without being queued.
bool TryWriteThrough(internal::WebSocketCore& core,
                     const Sender<WebSocketOutgoing>& outgoing, Opcode opcode,
                     std::string_view bytes) {
  switch (
      core.write_side.TryWriteMessage(*core.stream, opcode, AsBytes(bytes))) {
    case internal::WebSocketWriteSide::Direct::kWritten:
      return true;
    case internal::WebSocketWriteSide::Direct::kHandedOff:
      core.WakeWriter(outgoing);
      return true;
    case internal::WebSocketWriteSide::Direct::kNotNow:
      return false;
  }
  return false;
}

}  // namespace

absl::StatusOr<WebSocketConnection> WebSocketConnection::Start(
    std::unique_ptr<AnyByteStream> stream, WebSocketSession session,
    WebSocketOptions options) {
  if (Scheduler::Current() == nullptr) {
    return absl::FailedPreconditionError(
        "WebSocketConnection::Start must run on a runtime thread");
  }
  if (stream == nullptr) return absl::InvalidArgumentError("no stream");
  absl::StatusOr<WebSocketParser> parser =
      WebSocketParser::Create(WebSocketParserOptions{
          .role = session.role,
          .max_frame_size = options.max_frame_size,
          .max_message_size = options.max_message_size,
          .deflate = session.deflate,
      });
  if (!parser.ok()) return parser.status();
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create(WebSocketWriterOptions{
          .role = session.role,
          .deflate = session.deflate,
          .compression_level = options.compression_level,
          .min_compress_size = options.min_compress_size,
      });
  if (!writer.ok()) return writer.status();
  auto incoming =
      MakeMpsc<WebSocketMessage>(std::max<size_t>(options.incoming_capacity, 1))
          .value();
  auto outgoing = MakeMpsc<WebSocketOutgoing>(
                      std::max<size_t>(options.outgoing_capacity, 1))
                      .value();

  WebSocketConnection connection;
  connection.core_ = std::make_shared<internal::WebSocketCore>(
      std::move(stream), session.role, std::move(session.subprotocol),
      session.deflate, options, std::move(*writer), std::move(incoming.second));
  connection.outgoing_ = outgoing.first;
  // The writer's handle is in place before the reader (which may abort
  // the writer) exists.
  using internal::EndOfTask;
  connection.core_->writer = Spawn(internal::RunWebSocketWriter(
      connection.core_, std::move(outgoing.second),
      EndOfTask(connection.core_, EndOfTask::Side::kWriter)));
  connection.reader_ = Spawn(internal::RunWebSocketReader(
      connection.core_, std::move(*parser), std::move(incoming.first),
      std::move(outgoing.first), std::move(session.initial_bytes),
      EndOfTask(connection.core_, EndOfTask::Side::kReader)));
  return connection;
}

WebSocketConnection::WebSocketConnection(WebSocketConnection&&) noexcept =
    default;

WebSocketConnection& WebSocketConnection::operator=(
    WebSocketConnection&& other) noexcept {
  if (this != &other) {
    if (core_ != nullptr) {
      core_->writer.Abort();
      reader_.Abort();
    }
    core_ = std::move(other.core_);
    outgoing_ = std::move(other.outgoing_);
    reader_ = std::move(other.reader_);
  }
  return *this;
}

WebSocketConnection::~WebSocketConnection() {
  // Still open: cut it off. (Finished tasks ignore the abort.)
  if (core_ != nullptr) {
    core_->writer.Abort();
    reader_.Abort();
  }
}

Task<absl::StatusOr<WebSocketMessage>> WebSocketConnection::Receive() {
  std::optional<WebSocketMessage> message = co_await core_->incoming.Recv();
  if (message.has_value()) co_return std::move(*message);
  // The channel ends when the reader finishes, or early when Close()
  // closed it: either way the outcome is known once the reader is done.
  co_await core_->reader_done.Wait();
  co_return core_->FinalStatus();
}

Task<absl::Status> WebSocketConnection::HandleMessages(
    WebSocketMessageHandler handler) {
  if (!handler) {
    co_return absl::FailedPreconditionError("HandleMessages needs a handler");
  }
  // A second call must not touch the channel or the handler: both are the
  // reader's once a handler is installed.
  if (core_->handler_installed()) {
    co_return absl::FailedPreconditionError(
        "HandleMessages was called already");
  }
  // What was queued before the handler: handed over here, in order; the
  // reader takes over once the channel is empty (WebSocketCore::
  // InstallHandler), or never if it stopped delivering.
  for (;;) {
    absl::StatusOr<WebSocketMessage> queued = core_->incoming.TryRecv();
    if (queued.ok()) {
      Task<void> wait = handler(*std::move(queued));
      if (wait.valid()) co_await std::move(wait);
      continue;
    }
    if (absl::IsOutOfRange(queued.status())) break;  // closed and drained
    const internal::WebSocketCore::Install installed =
        core_->InstallHandler(handler);
    if (installed != internal::WebSocketCore::Install::kMoreQueued) break;
  }
  // `handler` is the reader's now (or unused, if the reader is gone).
  co_await core_->reader_done.Wait();
  co_return core_->FinalStatus();
}

Task<absl::Status> WebSocketConnection::SendItem(WebSocketOutgoing item) {
  if (core_->close_requested.load(std::memory_order_acquire)) {
    co_return ClosingError();
  }
  if (item.kind == WebSocketOutgoing::Kind::kMessage &&
      TryWriteThrough(*core_, outgoing_, item.opcode, item.bytes())) {
    co_return absl::OkStatus();
  }
  // Marked before the push; an abandoned wait drops the mark with the
  // item, unless the channel took the item meanwhile.
  item.mark = core_->write_side.Mark();
  SendResult<WebSocketOutgoing> sent = co_await outgoing_.Send(std::move(item));
  co_return sent.ok() ? absl::OkStatus() : ClosingError();
}

Task<absl::Status> WebSocketConnection::Send(WebSocketMessage message) {
  return SendItem(WebSocketOutgoing(WebSocketOutgoing::Kind::kMessage,
                                    OpcodeOf(message), message.TakeData()));
}

SendResult<WebSocketMessage> WebSocketConnection::TrySend(
    WebSocketMessage message) {
  if (core_->close_requested.load(std::memory_order_acquire)) {
    return SendResult<WebSocketMessage>::Fail(SendError::kClosed,
                                              std::move(message));
  }
  if (TryWriteThrough(*core_, outgoing_, OpcodeOf(message), message.data())) {
    return SendResult<WebSocketMessage>::Ok();
  }
  const WebSocketMessage::Type type = message.type();
  SendResult<WebSocketOutgoing> sent =
      TryEnqueue(*core_, outgoing_,
                 WebSocketOutgoing(WebSocketOutgoing::Kind::kMessage,
                                   OpcodeOf(message), message.TakeData()));
  if (sent.ok()) return SendResult<WebSocketMessage>::Ok();
  const SendError error = sent.error();
  return SendResult<WebSocketMessage>::Fail(
      error, WebSocketMessage(type, std::get<std::string>(
                                        std::move(sent.TakeValue().data))));
}

Task<absl::Status> WebSocketConnection::Send(SharedWebSocketMessage message) {
  return SendItem(WebSocketOutgoing(OpcodeOf(message), message.TakeData()));
}

SendResult<SharedWebSocketMessage> WebSocketConnection::TrySend(
    SharedWebSocketMessage message) {
  if (core_->close_requested.load(std::memory_order_acquire)) {
    return SendResult<SharedWebSocketMessage>::Fail(SendError::kClosed,
                                                    std::move(message));
  }
  if (message.data() != nullptr &&
      TryWriteThrough(*core_, outgoing_, OpcodeOf(message), *message.data())) {
    return SendResult<SharedWebSocketMessage>::Ok();
  }
  const WebSocketMessage::Type type = message.type();
  SendResult<WebSocketOutgoing> sent =
      TryEnqueue(*core_, outgoing_,
                 WebSocketOutgoing(OpcodeOf(message), message.TakeData()));
  if (sent.ok()) return SendResult<SharedWebSocketMessage>::Ok();
  const SendError error = sent.error();
  return SendResult<SharedWebSocketMessage>::Fail(
      error,
      SharedWebSocketMessage(
          type, std::get<SharedBytes>(std::move(sent.TakeValue().data))));
}

Task<absl::Status> WebSocketConnection::Ping(std::string payload) {
  payload.resize(std::min(payload.size(), kMaxControlPayload));
  return SendItem(WebSocketOutgoing(WebSocketOutgoing::Kind::kPing,
                                    Opcode::kPing, std::move(payload)));
}

Task<absl::Status> WebSocketConnection::Close(uint16_t code,
                                              std::string reason) {
  // The codes a peer may receive are exactly those an endpoint may send.
  if (!IsValidReceivedCloseCode(code)) {
    co_return absl::InvalidArgumentError(
        "close code may not be sent (1000-1003, 1007-1014, 3000-4999)");
  }
  if (reason.size() > kMaxControlPayload - 2 || !IsValidUtf8(reason)) {
    co_return absl::InvalidArgumentError(
        "close reason must be valid UTF-8 of at most 123 bytes");
  }
  const Instant deadline = CurrentClock().Now() + core_->options.close_timeout;
  core_->close_requested.store(true, std::memory_order_release);
  // Reading goes on until the peer's Close; messages still arriving are
  // dropped rather than waiting for a Receive() that may never come.
  // (Receiver::Close only takes the channel lock, so it is safe while
  // another task is inside Receive.)
  core_->incoming.Close();

  WebSocketOutgoing item(WebSocketOutgoing::Kind::kClose, Opcode::kClose,
                         std::move(reason), code);
  const absl::StatusOr<bool> queued =
      co_await TimeoutAt(deadline, Enqueue(core_, outgoing_, std::move(item)));
  // Queued, or refused because the writer already sent its last frame:
  // either way the reader's termination protocol ends the connection.
  absl::Status answered = queued.status();
  if (queued.ok()) {
    answered = co_await TimeoutAt(deadline, core_->reader_done.Wait());
  }
  if (!answered.ok()) {
    core_->RecordEnd(
        absl::DeadlineExceededError(
            "websocket closed: the peer did not answer the Close in time"),
        close_code::kAbnormalClosure, "");
    co_await Abort();
  }
  if (core_->CloseInfo().clean) co_return absl::OkStatus();
  co_return core_->FinalStatus();
}

Task<void> WebSocketConnection::Abort() {
  core_->writer.Abort();
  reader_.Abort();
  co_await core_->writer_done.Wait();
  co_await core_->reader_done.Wait();
  if (core_->TakeShutdownDuty()) (void)co_await core_->stream->ShutdownWrite();
}

bool WebSocketConnection::finished() const {
  return core_->reader_done.fired();
}

WebSocketCloseInfo WebSocketConnection::close_info() const {
  return core_->CloseInfo();
}

Role WebSocketConnection::role() const { return core_->role; }

const std::string& WebSocketConnection::subprotocol() const {
  return core_->subprotocol;
}

const std::optional<DeflateParams>& WebSocketConnection::deflate() const {
  return core_->deflate;
}

}  // namespace troupe::net
