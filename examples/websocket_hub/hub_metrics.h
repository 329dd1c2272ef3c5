// HubMetrics: the hub's own counters, rendered for GET /metrics in the
// Prometheus text format (the server appends the actor system's and the
// runtime's metrics after them).
//
// Contract:
//   - Every method is thread-safe and never blocks: relaxed atomic counters
//     (they are independent counts; Render may see them slightly out of
//     step with each other).
//   - Disconnect reasons are a closed set (DisconnectReason), so the label
//     values are stable for dashboards.
//
// Metrics (all prefixed "hub_"):
//   connections_accepted_total   TCP connections accepted
//   connections_refused_total    refused at --max_connections (503)
//   connections_open             WebSocket sessions open now
//   rooms                        rooms that exist now
//   messages_in_total            frames received from clients
//   messages_published_total     messages a room sequenced
//   messages_out_total           frames queued to clients (one per
//                                recipient of a fan-out)
//   slow_consumer_drops_total    connections dropped because their
//                                outbound queue overflowed
//   errors_total{code}           error frames sent, by code
//   disconnects_total{reason}    sessions ended, by reason
//
// Example:
//   metrics->OnDisconnect(DisconnectReason::kSlowConsumer);
//   std::string text = metrics->Render();
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_METRICS_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::hub {

enum class DisconnectReason : uint8_t {
  kClientClosed,    // the client sent Close (or 1000/1001 handshake)
  kConnectionLost,  // the stream ended or broke without a Close
  kProtocolError,   // we failed it: 1002, 1007
  kMessageTooBig,   // 1009: a message over --max_message_bytes
  kSlowConsumer,    // 1008: the outbound queue overflowed
  kRateLimited,     // 1008: persistent abuse of --rate_limit
  kServerShutdown,  // 1001: SIGTERM/SIGINT
};
inline constexpr int kDisconnectReasons = 7;
std::string_view DisconnectReasonName(DisconnectReason reason);

class HubMetrics {
 public:
  void OnConnectionAccepted() { Add(connections_accepted_, 1); }
  void OnConnectionRefused() { Add(connections_refused_, 1); }
  void OnSessionOpened() { Add(sessions_open_, 1); }
  void OnSessionClosed() { Add(sessions_open_, -1); }
  void OnRoomCreated() { Add(rooms_, 1); }
  void OnRoomRetired() { Add(rooms_, -1); }
  void OnMessageIn() { Add(messages_in_, 1); }
  void OnPublished() { Add(published_, 1); }
  void OnFramesOut(int64_t n) { Add(messages_out_, n); }
  void OnSlowConsumerDrop() { Add(slow_consumer_drops_, 1); }
  void OnError(std::string_view code);
  void OnDisconnect(DisconnectReason reason) {
    Add(disconnects_[static_cast<int>(reason)], 1);
  }

  int64_t rooms() const { return Get(rooms_); }
  int64_t sessions_open() const { return Get(sessions_open_); }
  int64_t messages_out() const { return Get(messages_out_); }
  int64_t slow_consumer_drops() const { return Get(slow_consumer_drops_); }
  int64_t disconnects(DisconnectReason reason) const {
    return Get(disconnects_[static_cast<int>(reason)]);
  }

  std::string Render() const;

 private:
  using Counter = std::atomic<int64_t>;
  static void Add(Counter& c, int64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static int64_t Get(const Counter& c) {
    return c.load(std::memory_order_relaxed);
  }

  Counter connections_accepted_{0};
  Counter connections_refused_{0};
  Counter sessions_open_{0};
  Counter rooms_{0};
  Counter messages_in_{0};
  Counter published_{0};
  Counter messages_out_{0};
  Counter slow_consumer_drops_{0};
  std::array<Counter, kDisconnectReasons> disconnects_{};
  // Error frames by code: the protocol's codes, and "other".
  static constexpr int kErrorCodes = 8;
  std::array<Counter, kErrorCodes> errors_{};
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_METRICS_H_
