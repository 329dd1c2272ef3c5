// EchoMetrics: the echo server's counters, rendered for /metrics in the
// Prometheus text format next to the runtime's own metrics.
//
// Contract:
//   - The On* methods are called by connection tasks on any thread; the
//     message counters are relaxed atomics (a few nanoseconds per message,
//     no lock). Session ends take a mutex (they are rare).
//   - Render() may run at any time on any thread; the counters it reads may
//     be slightly stale relative to each other.
//   - Bytes are message payload bytes as the application sees them: after
//     reassembly and decompression, without frame headers.
//
// Metrics (all prefixed "echo_"):
//   connections_accepted_total        TCP connections accepted
//   connections_open                  TCP connections open (HTTP + WebSocket)
//   websocket_sessions_total          WebSocket upgrades completed
//   websocket_sessions_open           WebSocket sessions open
//   websocket_closes_total{code}      sessions ended, by final close code
//   messages_received_total{type}     messages received, type text|binary
//   messages_sent_total{type}         messages echoed back
//   bytes_received_total, bytes_sent_total
//
// Example:
//   metrics.OnMessageReceived(message.is_text(), message.data().size());
//   std::string text = metrics.Render({.connections_open = 3,
//                                      .sessions_open = 2});
#ifndef TROUPE_EXAMPLES_ECHO_ECHO_METRICS_H_
#define TROUPE_EXAMPLES_ECHO_ECHO_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace troupe::echo {

// Gauges the server computes when asked (sizes of its task groups).
struct EchoGauges {
  uint64_t connections_open = 0;
  uint64_t sessions_open = 0;
};

class EchoMetrics {
 public:
  void OnConnectionAccepted() { Add(connections_accepted_, 1); }
  void OnSessionStarted() { Add(sessions_started_, 1); }
  void OnMessageReceived(bool text, size_t bytes) {
    Add(text ? text_received_ : binary_received_, 1);
    Add(bytes_received_, bytes);
  }
  void OnMessageSent(bool text, size_t bytes) {
    Add(text ? text_sent_ : binary_sent_, 1);
    Add(bytes_sent_, bytes);
  }
  // `code`: the session's final close code (1006 for no Close frame).
  void OnSessionEnded(uint16_t code);

  uint64_t connections_accepted() const { return Get(connections_accepted_); }
  uint64_t sessions_started() const { return Get(sessions_started_); }
  uint64_t messages_received() const {
    return Get(text_received_) + Get(binary_received_);
  }
  uint64_t messages_sent() const { return Get(text_sent_) + Get(binary_sent_); }
  uint64_t bytes_received() const { return Get(bytes_received_); }
  uint64_t bytes_sent() const { return Get(bytes_sent_); }
  // How many sessions ended with `code`.
  uint64_t closes(uint16_t code) const;

  // The echo_* metrics in the Prometheus text exposition format.
  std::string Render(const EchoGauges& gauges) const;

 private:
  using Counter = std::atomic<uint64_t>;
  static void Add(Counter& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static uint64_t Get(const Counter& c) {
    return c.load(std::memory_order_relaxed);
  }

  Counter connections_accepted_{0};
  Counter sessions_started_{0};
  Counter text_received_{0};
  Counter binary_received_{0};
  Counter text_sent_{0};
  Counter binary_sent_{0};
  Counter bytes_received_{0};
  Counter bytes_sent_{0};

  mutable std::mutex mu_;
  std::map<uint16_t, uint64_t> closes_;  // guarded by mu_
};

}  // namespace troupe::echo

#endif  // TROUPE_EXAMPLES_ECHO_ECHO_METRICS_H_
