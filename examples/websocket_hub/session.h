// A hub connection: the Session actor that speaks the protocol for one
// WebSocket client, the ConnectionOutbox that bounds what waits to be
// sent to it, and the task that runs the two around the socket.
//
// Pieces, per connection:
//   - the reader (RunConnection's loop) feeds each received message into
//     the Session's mailbox (co_await Send: a client that sends faster
//     than the hub handles is slowed down by TCP, not buffered);
//   - the Session actor parses frames, applies --rate_limit, and talks to
//     the directory and rooms; its state (the rooms it joined, under which
//     name) needs no lock;
//   - the outbound queue is the WebSocket's own bounded outgoing queue
//     (--outbound_queue entries), fed by the rooms and the Session through
//     ConnectionOutbox::Offer, which never waits: when it is full the
//     client is a slow consumer and is closed with 1008 "slow consumer".
//     Each frame goes in the kind the client last used (text: JSON,
//     binary: protobuf) as shared bytes - encoded once per frame and kind,
//     whatever the number of readers - and the WebSocket's writer sends
//     everything queued with one vectored write (websocket_connection.h).
//
// How a connection ends (RunConnection):
//   1. the reader sees the end of the WebSocket (the client closed, the
//      hub closed it, or it broke);
//   2. it tells the Session Disconnected: the Session leaves every room
//      (the others get presence LEFT) and stops;
//   3. the disconnect is counted under its reason: the hub's own
//      (slow_consumer, rate_limited, server_shutdown) if it closed the
//      connection, else from the close code;
//   4. a connection the WebSocket layer failed (1002, 1007, 1009) keeps
//      its socket for up to a second so that the client reads the Close
//      frame before the kernel resets the connection.
// At shutdown the actor system stops every Session: it leaves its rooms
// and queues a close 1001 behind what its queue holds, so queued frames
// are flushed first; steps 1-4 then follow.
//
// Example (the server's WebSocket route):
//   Task<void> OnUpgrade(net::WebSocketConnection ws, net::HttpRequest) {
//     co_await RunConnection(std::make_shared<net::WebSocketConnection>(
//                                std::move(ws)),
//                            context);
//   }
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_SESSION_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_SESSION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "actors/actor.h"
#include "examples/websocket_hub/directory.h"
#include "examples/websocket_hub/frame.h"
#include "examples/websocket_hub/hub_metrics.h"
#include "examples/websocket_hub/room.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "net/websocket_connection.h"

namespace troupe::hub {

struct SessionOptions {
  // Messages per second per connection; 0: no limit. A client may burst
  // one second's worth.
  double rate_limit = 0;
  // Refused messages, each less than a second after the previous one,
  // before the connection is closed with 1008.
  int strikes_before_close = 10;
  // Longest room and member names accepted.
  size_t max_name_bytes = 64;
};

// What the pieces of one connection share. Thread-safe.
class ConnectionState {
 public:
  explicit ConnectionState(uint64_t id) : id_(id) {}

  uint64_t id() const { return id_; }
  // The kind of the client's last message (binary: protobuf).
  bool binary() const { return binary_.load(std::memory_order_relaxed); }
  void set_binary(bool binary) {
    binary_.store(binary, std::memory_order_relaxed);
  }
  // The reason the hub closes the connection for; the first call wins
  // (returns false for the later ones).
  bool SetEndReason(DisconnectReason reason);
  bool has_end_reason() const {
    return end_reason_.load(std::memory_order_acquire) >= 0;
  }
  DisconnectReason end_reason() const {
    return static_cast<DisconnectReason>(
        end_reason_.load(std::memory_order_acquire));
  }

 private:
  const uint64_t id_;
  std::atomic<bool> binary_{false};
  std::atomic<int> end_reason_{-1};
};

// The far end of a connection's outbox: the client's WebSocket in the
// hub (WebSocketLink), a recording queue in tests. Neither call waits;
// any thread.
class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // Queues `frame` in the client's kind (binary: protobuf, else JSON), or
  // says kFull (the bounded queue overflowed) or kClosed.
  virtual Outbox::OfferResult Queue(const FramePtr& frame, bool binary) = 0;
  // Closes the connection with `code` once what is queued is sent.
  virtual void Close(uint16_t code, std::string reason) = 0;
};

// The hub's link: frames go into the WebSocket's own bounded outgoing
// queue (--outbound_queue) as shared bytes - the frame's one encoding of
// each kind, never copied per recipient - and the WebSocket's writer
// sends what is queued with one vectored write. Close runs the closing
// handshake in a task of its own, behind the queued frames.
std::shared_ptr<ClientLink> WebSocketLink(
    std::shared_ptr<net::WebSocketConnection> ws);

class ConnectionOutbox final : public Outbox {
 public:
  ConnectionOutbox(std::shared_ptr<ConnectionState> state,
                   std::shared_ptr<ClientLink> link,
                   std::shared_ptr<HubMetrics> metrics)
      : state_(std::move(state)),
        link_(std::move(link)),
        metrics_(std::move(metrics)) {}

  uint64_t id() const override { return state_->id(); }
  // Never waits (see frame.h). On the first overflow the connection is
  // closed with 1008 "slow consumer". Must run on a runtime thread.
  OfferResult Offer(FramePtr frame) override;
  // Closes the connection for `why` after what is queued. Only the first
  // close of a connection counts.
  void CloseAfterQueued(uint16_t code, std::string reason,
                        DisconnectReason why);

 private:
  const std::shared_ptr<ConnectionState> state_;
  const std::shared_ptr<ClientLink> link_;
  const std::shared_ptr<HubMetrics> metrics_;
};

// Messages of the Session actor.
struct Inbound {
  explicit Inbound(net::WebSocketMessage m) : message(std::move(m)) {}
  net::WebSocketMessage message;
};
struct Disconnected {};

class Session : public Actor<Session> {
 public:
  Session(std::shared_ptr<ConnectionOutbox> outbox,
          ActorRef<Directory> directory, SessionOptions options,
          std::shared_ptr<HubMetrics> metrics);

  Task<void> Handle(Inbound m);
  Task<void> Handle(Disconnected);
  void OnStop();

 private:
  struct Membership {
    ActorRef<Room> room;
    std::string name;
  };

  // The rate limiter: true if this message may go on.
  bool TakeToken();
  void Reply(FramePtr frame);
  void ReplyError(const std::string& id, std::string_view code,
                  std::string_view detail);
  Task<void> OnJoin(std::string id, hub::Join join);
  Task<void> OnLeave(std::string id, std::string room);
  Task<void> OnPublish(std::string id, hub::Publish publish);
  // Tells every joined room that this member left (without an answer).
  Task<void> LeaveAll();

  const std::shared_ptr<ConnectionOutbox> outbox_;
  const ActorRef<Directory> directory_;
  const SessionOptions options_;
  const std::shared_ptr<HubMetrics> metrics_;
  absl::flat_hash_map<std::string, Membership> rooms_;
  bool closing_ = false;  // the hub closes the connection: ignore input
  bool disconnected_ = false;
  // Rate limiter state (token bucket, refilled at rate_limit per second).
  double tokens_ = 0;
  std::optional<Instant> refilled_at_;
  int strikes_ = 0;
  std::optional<Instant> last_strike_;
};

// Everything a connection needs from the server.
struct ConnectionContext {
  ActorSystem* system = nullptr;
  ActorRef<Directory> directory;
  std::shared_ptr<HubMetrics> metrics;
  SessionOptions session;
  // Cancelled at shutdown: cuts step 4's lingering short.
  CancellationToken stopping;
};

// Sets one connection up at once - its outbox and Session actor - and
// returns the task that runs it (steps 1-4 above)
// until it is over. Call on a runtime thread; `context` must outlive the
// task.
Task<void> RunConnection(std::shared_ptr<net::WebSocketConnection> ws,
                         const ConnectionContext& context);

// Runs the closing handshake of `ws` (for connections the hub turns away).
Task<void> CloseWebSocket(std::shared_ptr<net::WebSocketConnection> ws,
                          uint16_t code, std::string reason);

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_SESSION_H_
