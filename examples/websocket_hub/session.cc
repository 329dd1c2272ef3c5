#include "examples/websocket_hub/session.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "net/close_codes.h"
#include "net/websocket_connection.h"

namespace troupe::hub {
namespace {

// A join retries when the room it resolved was retired in between.
constexpr int kJoinAttempts = 8;
// Messages a Session's mailbox holds (client frames waiting for it).
constexpr size_t kSessionMailbox = 8;
// Step 4: how long a connection we failed keeps its socket.
constexpr auto kFailureLinger = std::chrono::seconds(1);

std::atomic<uint64_t> next_connection_id{1};

// The hub's ClientLink (see session.h).
class WebSocketClientLink final : public ClientLink {
 public:
  explicit WebSocketClientLink(std::shared_ptr<net::WebSocketConnection> ws)
      : ws_(std::move(ws)) {}

  Outbox::OfferResult Queue(const FramePtr& frame, bool binary) override {
    // Shares the frame's ownership and points at one of its encodings:
    // no copy, no allocation (the encoding is cached in the frame).
    net::SharedBytes bytes(frame, binary ? &frame->Binary() : &frame->Json());
    SendResult<net::SharedWebSocketMessage> sent =
        ws_->TrySend(net::SharedWebSocketMessage(
            binary ? net::WebSocketMessage::Type::kBinary
                   : net::WebSocketMessage::Type::kText,
            std::move(bytes)));
    if (sent.ok()) return Outbox::OfferResult::kQueued;
    return sent.IsFull() ? Outbox::OfferResult::kFull
                         : Outbox::OfferResult::kClosed;
  }

  void Close(uint16_t code, std::string reason) override {
    // The handshake waits for the peer: never in the caller's turn.
    Spawn(CloseWebSocket(ws_, code, std::move(reason))).Detach();
  }

 private:
  const std::shared_ptr<net::WebSocketConnection> ws_;
};

DisconnectReason ReasonFromClose(const net::WebSocketCloseInfo& info) {
  switch (info.code) {
    case net::close_code::kMessageTooBig:
      return DisconnectReason::kMessageTooBig;
    case net::close_code::kProtocolError:
    case net::close_code::kInvalidPayload:
      return DisconnectReason::kProtocolError;
    case net::close_code::kAbnormalClosure:
      return DisconnectReason::kConnectionLost;
    default:
      return DisconnectReason::kClientClosed;
  }
}

Task<void> WaitCancelled(CancellationToken token) {
  co_await token.Cancelled();
}

}  // namespace

bool ConnectionState::SetEndReason(DisconnectReason reason) {
  int expected = -1;
  return end_reason_.compare_exchange_strong(expected, static_cast<int>(reason),
                                             std::memory_order_acq_rel);
}

std::shared_ptr<ClientLink> WebSocketLink(
    std::shared_ptr<net::WebSocketConnection> ws) {
  return std::make_shared<WebSocketClientLink>(std::move(ws));
}

Outbox::OfferResult ConnectionOutbox::Offer(FramePtr frame) {
  const OfferResult queued = link_->Queue(frame, state_->binary());
  if (queued == OfferResult::kFull &&
      state_->SetEndReason(DisconnectReason::kSlowConsumer)) {
    metrics_->OnSlowConsumerDrop();
    link_->Close(net::close_code::kPolicyViolation, "slow consumer");
  }
  return queued;
}

void ConnectionOutbox::CloseAfterQueued(uint16_t code, std::string reason,
                                        DisconnectReason why) {
  if (!state_->SetEndReason(why)) return;
  link_->Close(code, std::move(reason));
}

Session::Session(std::shared_ptr<ConnectionOutbox> outbox,
                 ActorRef<Directory> directory, SessionOptions options,
                 std::shared_ptr<HubMetrics> metrics)
    : outbox_(std::move(outbox)),
      directory_(std::move(directory)),
      options_(options),
      metrics_(std::move(metrics)),
      tokens_(std::max(1.0, options.rate_limit)) {}

Task<void> Session::Handle(Inbound m) {
  if (closing_ || disconnected_) co_return;
  metrics_->OnMessageIn();
  if (!TakeToken()) {
    const Instant now = system().clock().Now();
    if (!last_strike_.has_value() ||
        now - *last_strike_ > std::chrono::seconds(1)) {
      strikes_ = 0;
    }
    last_strike_ = now;
    ++strikes_;
    const bool persistent = strikes_ >= options_.strikes_before_close;
    ReplyError("", error_code::kRateLimited,
               absl::StrCat("more than ", options_.rate_limit,
                            " messages per second; this one was dropped",
                            persistent ? " and the connection is closed" : ""));
    if (persistent) {
      closing_ = true;
      outbox_->CloseAfterQueued(net::close_code::kPolicyViolation,
                                "rate limit exceeded",
                                DisconnectReason::kRateLimited);
    }
    co_return;
  }
  absl::StatusOr<ClientFrame> frame =
      ParseClientFrame(m.message.is_text(), m.message.data());
  if (!frame.ok()) {
    ReplyError("", error_code::kBadFrame,
               std::string(frame.status().message()));
    co_return;
  }
  std::string id = frame->id();
  switch (frame->kind_case()) {
    case ClientFrame::kJoin:
      co_await OnJoin(std::move(id), std::move(*frame->mutable_join()));
      break;
    case ClientFrame::kLeave:
      co_await OnLeave(std::move(id),
                       std::move(*frame->mutable_leave()->mutable_room()));
      break;
    case ClientFrame::kPublish:
      co_await OnPublish(std::move(id), std::move(*frame->mutable_publish()));
      break;
    case ClientFrame::kPing: {
      ServerFrame pong;
      pong.set_id(std::move(id));
      pong.mutable_pong();
      Reply(MakeFrame(std::move(pong)));
      break;
    }
    case ClientFrame::KIND_NOT_SET:
      break;  // ParseClientFrame refuses these
  }
}

Task<void> Session::Handle(Disconnected) {
  disconnected_ = true;
  co_await LeaveAll();
  Stop();
}

void Session::OnStop() {
  if (disconnected_) return;
  // Stopped by the system's shutdown: the rooms are stopping too, so a
  // leave that no longer gets through does not matter.
  for (auto& [room, membership] : rooms_) {
    (void)membership.room.TrySend(LeaveRoom(outbox_->id(), "", false));
  }
  rooms_.clear();
  outbox_->CloseAfterQueued(net::close_code::kGoingAway, "server shutting down",
                            DisconnectReason::kServerShutdown);
}

bool Session::TakeToken() {
  if (options_.rate_limit <= 0) return true;
  const Instant now = system().clock().Now();
  if (refilled_at_.has_value()) {
    const double seconds =
        std::chrono::duration<double>(now - *refilled_at_).count();
    tokens_ = std::min(std::max(1.0, options_.rate_limit),
                       tokens_ + seconds * options_.rate_limit);
  }
  refilled_at_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void Session::Reply(FramePtr frame) {
  if (outbox_->Offer(std::move(frame)) == Outbox::OfferResult::kQueued) {
    metrics_->OnFramesOut(1);
  }
}

void Session::ReplyError(const std::string& id, std::string_view code,
                         std::string_view detail) {
  metrics_->OnError(code);
  Reply(ErrorFrame(id, code, detail));
}

Task<void> Session::OnJoin(std::string id, hub::Join join) {
  if (join.room().empty() || join.name().empty() ||
      join.room().size() > options_.max_name_bytes ||
      join.name().size() > options_.max_name_bytes) {
    ReplyError(id, error_code::kBadRequest,
               absl::StrCat("join needs a room and a name of 1 to ",
                            options_.max_name_bytes, " bytes"));
    co_return;
  }
  auto it = rooms_.find(join.room());
  if (it != rooms_.end()) {
    if (it->second.name == join.name()) {
      ReplyError(id, error_code::kNameTaken,
                 absl::StrCat("you are already in room '", join.room(),
                              "' as '", join.name(), "'"));
    } else {
      ReplyError(id, error_code::kAlreadyJoined,
                 absl::StrCat("you are already in room '", join.room(),
                              "' as '", it->second.name, "'"));
    }
    co_return;
  }
  for (int attempt = 0; attempt < kJoinAttempts; ++attempt) {
    Task<absl::StatusOr<ActorRef<Room>>> resolve =
        directory_.Ask(ResolveRoom(join.room()));
    absl::StatusOr<ActorRef<Room>> room = co_await std::move(resolve);
    if (!room.ok()) break;  // the directory is stopping
    Task<absl::StatusOr<JoinOutcome>> ask =
        room->Ask(JoinRoom(outbox_, join.name(), id));
    const absl::StatusOr<JoinOutcome> outcome = co_await std::move(ask);
    if (!outcome.ok() || *outcome == JoinOutcome::kRoomClosed) continue;
    if (*outcome == JoinOutcome::kJoined) {
      rooms_.emplace(join.room(), Membership{*std::move(room), join.name()});
    }
    co_return;  // the room answered the client itself
  }
  ReplyError(id, error_code::kUnavailable,
             absl::StrCat("room '", join.room(), "' cannot be joined now"));
}

Task<void> Session::OnLeave(std::string id, std::string room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) {
    ReplyError(id, error_code::kNotAMember,
               absl::StrCat("you are not in room '", room, "'"));
    co_return;
  }
  const ActorRef<Room> target = std::move(it->second.room);
  rooms_.erase(it);
  // The room answers `left` itself, after every message it sent before.
  (void)co_await target.Send(LeaveRoom(outbox_->id(), std::move(id), true));
}

Task<void> Session::OnPublish(std::string id, hub::Publish publish) {
  auto it = rooms_.find(publish.room());
  if (it == rooms_.end()) {
    ReplyError(id, error_code::kNotAMember,
               absl::StrCat("join room '", publish.room(),
                            "' before publishing to it"));
    co_return;
  }
  const ActorRef<Room> room = it->second.room;
  const absl::Status sent = co_await room.Send(
      PublishToRoom(outbox_->id(), std::move(*publish.mutable_text())));
  if (!sent.ok()) {
    rooms_.erase(publish.room());
    ReplyError(id, error_code::kUnavailable,
               absl::StrCat("room '", publish.room(), "' is gone"));
  }
}

Task<void> Session::LeaveAll() {
  for (auto& [room, membership] : rooms_) {
    (void)co_await membership.room.Send(LeaveRoom(outbox_->id(), "", false));
  }
  rooms_.clear();
}

Task<void> CloseWebSocket(std::shared_ptr<net::WebSocketConnection> ws,
                          uint16_t code, std::string reason) {
  Task<absl::Status> close = ws->Close(code, std::move(reason));
  (void)co_await std::move(close);
}

namespace {

// Steps 1-4 of a connection that RunConnection set up.
Task<void> ReadUntilClosed(std::shared_ptr<net::WebSocketConnection> ws,
                           std::shared_ptr<ConnectionState> state,
                           ActorRef<Session> session,
                           const ConnectionContext& context) {
  HubMetrics& metrics = *context.metrics;
  // Step 1.
  absl::Status end;
  for (;;) {
    absl::StatusOr<net::WebSocketMessage> message = co_await ws->Receive();
    if (!message.ok()) {
      end = message.status();
      break;
    }
    state->set_binary(!message->is_text());
    // A Session that stopped (shutdown) has queued the close: keep
    // receiving until the client answers it.
    (void)co_await session.Send(Inbound(*std::move(message)));
  }
  // Step 2.
  (void)co_await session.Send(Disconnected{});
  session = ActorRef<Session>();
  // Step 3.
  metrics.OnDisconnect(state->has_end_reason()
                           ? state->end_reason()
                           : ReasonFromClose(ws->close_info()));
  metrics.OnSessionClosed();
  // Step 4.
  if (absl::IsDataLoss(end) || absl::IsResourceExhausted(end)) {
    (void)co_await Timeout(kFailureLinger, WaitCancelled(context.stopping));
  }
}

}  // namespace

Task<void> RunConnection(std::shared_ptr<net::WebSocketConnection> ws,
                         const ConnectionContext& context) {
  // Not a coroutine: the Session exists when this returns.
  context.metrics->OnSessionOpened();
  auto state = std::make_shared<ConnectionState>(
      next_connection_id.fetch_add(1, std::memory_order_relaxed));
  // A small mailbox: the reader waits for the Session (back-pressure on
  // the socket) rather than queueing, and an idle connection keeps at
  // most a small block of mailbox slots.
  SpawnOptions spawn;
  spawn.mailbox_capacity = kSessionMailbox;
  ActorRef<Session> session = context.system->SpawnNamed<Session>(
      std::move(spawn),
      std::make_shared<ConnectionOutbox>(state, WebSocketLink(ws),
                                         context.metrics),
      context.directory, context.session, context.metrics);
  return ReadUntilClosed(std::move(ws), std::move(state), std::move(session),
                         context);
}

}  // namespace troupe::hub
