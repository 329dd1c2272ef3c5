#include "examples/websocket_hub/hub_metrics.h"

#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "examples/websocket_hub/frame.h"

namespace troupe::hub {
namespace {

// The label of errors_[i]; the last one collects unknown codes.
constexpr std::string_view kErrorCodeNames[] = {
    error_code::kBadFrame,    error_code::kBadRequest,
    error_code::kNameTaken,   error_code::kAlreadyJoined,
    error_code::kNotAMember,  error_code::kRateLimited,
    error_code::kUnavailable, "other",
};

constexpr DisconnectReason kAllReasons[] = {
    DisconnectReason::kClientClosed,   DisconnectReason::kConnectionLost,
    DisconnectReason::kProtocolError,  DisconnectReason::kMessageTooBig,
    DisconnectReason::kSlowConsumer,   DisconnectReason::kRateLimited,
    DisconnectReason::kServerShutdown,
};

// Debian's Abseil has a string_view of its own, which std::string_view
// does not convert to: these helpers append with std::string's operators.
void AppendMetric(std::string* out, std::string_view name,
                  std::string_view type, std::string_view help, int64_t value) {
  out->append("# HELP ").append(name).append(" ").append(help);
  out->append("\n# TYPE ").append(name).append(" ").append(type);
  out->append("\n").append(name).append(" ");
  out->append(std::to_string(value)).append("\n");
}

void AppendLabelled(std::string* out, std::string_view name,
                    std::string_view label, std::string_view label_value,
                    int64_t value) {
  out->append(name).append("{").append(label).append("=\"");
  out->append(label_value).append("\"} ");
  out->append(std::to_string(value)).append("\n");
}

}  // namespace

std::string_view DisconnectReasonName(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::kClientClosed:
      return "client_closed";
    case DisconnectReason::kConnectionLost:
      return "connection_lost";
    case DisconnectReason::kProtocolError:
      return "protocol_error";
    case DisconnectReason::kMessageTooBig:
      return "message_too_big";
    case DisconnectReason::kSlowConsumer:
      return "slow_consumer";
    case DisconnectReason::kRateLimited:
      return "rate_limited";
    case DisconnectReason::kServerShutdown:
      return "server_shutdown";
  }
  return "unknown";
}

void HubMetrics::OnError(std::string_view code) {
  static_assert(std::size(kErrorCodeNames) == kErrorCodes);
  int i = 0;
  while (i < kErrorCodes - 1 && kErrorCodeNames[i] != code) ++i;
  Add(errors_[i], 1);
}

std::string HubMetrics::Render() const {
  std::string out;
  AppendMetric(&out, "hub_connections_accepted_total", "counter",
               "TCP connections accepted.", Get(connections_accepted_));
  AppendMetric(&out, "hub_connections_refused_total", "counter",
               "TCP connections refused at --max_connections.",
               Get(connections_refused_));
  AppendMetric(&out, "hub_connections_open", "gauge",
               "WebSocket sessions open.", Get(sessions_open_));
  AppendMetric(&out, "hub_rooms", "gauge", "Rooms that exist.", Get(rooms_));
  AppendMetric(&out, "hub_messages_in_total", "counter",
               "Frames received from clients.", Get(messages_in_));
  AppendMetric(&out, "hub_messages_published_total", "counter",
               "Messages sequenced by a room.", Get(published_));
  AppendMetric(&out, "hub_messages_out_total", "counter",
               "Frames queued to clients, one per recipient.",
               Get(messages_out_));
  AppendMetric(&out, "hub_slow_consumer_drops_total", "counter",
               "Connections dropped because their outbound queue overflowed.",
               Get(slow_consumer_drops_));
  absl::StrAppend(&out,
                  "# HELP hub_errors_total Error frames sent, by code.\n"
                  "# TYPE hub_errors_total counter\n");
  for (int i = 0; i < kErrorCodes; ++i) {
    AppendLabelled(&out, "hub_errors_total", "code", kErrorCodeNames[i],
                   Get(errors_[i]));
  }
  absl::StrAppend(&out,
                  "# HELP hub_disconnects_total WebSocket sessions ended, by "
                  "reason.\n# TYPE hub_disconnects_total counter\n");
  for (DisconnectReason reason : kAllReasons) {
    AppendLabelled(&out, "hub_disconnects_total", "reason",
                   DisconnectReasonName(reason), disconnects(reason));
  }
  return out;
}

}  // namespace troupe::hub
