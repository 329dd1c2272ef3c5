#include "examples/echo/echo_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace troupe::echo {
namespace {

void Describe(std::string* out, absl::string_view name, absl::string_view type,
              absl::string_view help) {
  absl::StrAppend(out, "# HELP echo_", name, " ", help, "\n# TYPE echo_", name,
                  " ", type, "\n");
}

void Sample(std::string* out, absl::string_view name, uint64_t value,
            absl::string_view labels = {}) {
  absl::StrAppend(out, "echo_", name, labels, " ", value, "\n");
}

}  // namespace

void EchoMetrics::OnSessionEnded(uint16_t code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++closes_[code];
}

uint64_t EchoMetrics::closes(uint16_t code) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = closes_.find(code);
  return it == closes_.end() ? 0 : it->second;
}

std::string EchoMetrics::Render(const EchoGauges& gauges) const {
  std::string out;
  Describe(&out, "connections_accepted_total", "counter",
           "TCP connections accepted.");
  Sample(&out, "connections_accepted_total", connections_accepted());
  Describe(&out, "connections_open", "gauge",
           "TCP connections open (HTTP and WebSocket).");
  Sample(&out, "connections_open", gauges.connections_open);
  Describe(&out, "websocket_sessions_total", "counter",
           "WebSocket upgrades completed.");
  Sample(&out, "websocket_sessions_total", sessions_started());
  Describe(&out, "websocket_sessions_open", "gauge",
           "WebSocket sessions open.");
  Sample(&out, "websocket_sessions_open", gauges.sessions_open);

  Describe(&out, "websocket_closes_total", "counter",
           "WebSocket sessions ended, by final close code (1006: no Close "
           "frame).");
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [code, count] : closes_) {
      Sample(&out, "websocket_closes_total", count,
             absl::StrCat("{code=\"", code, "\"}"));
    }
  }

  Describe(&out, "messages_received_total", "counter",
           "WebSocket messages received.");
  Sample(&out, "messages_received_total", Get(text_received_),
         "{type=\"text\"}");
  Sample(&out, "messages_received_total", Get(binary_received_),
         "{type=\"binary\"}");
  Describe(&out, "messages_sent_total", "counter",
           "WebSocket messages echoed back.");
  Sample(&out, "messages_sent_total", Get(text_sent_), "{type=\"text\"}");
  Sample(&out, "messages_sent_total", Get(binary_sent_), "{type=\"binary\"}");
  Describe(&out, "bytes_received_total", "counter",
           "Message payload bytes received (after decompression).");
  Sample(&out, "bytes_received_total", bytes_received());
  Describe(&out, "bytes_sent_total", "counter",
           "Message payload bytes echoed back (before compression).");
  Sample(&out, "bytes_sent_total", bytes_sent());
  return out;
}

}  // namespace troupe::echo
